"""Code versions recorded in every materialization, so reprocessing can select what is out of date.

Bump an asset's version when a change alters its output.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    PACKAGE_VERSION = version("media-assets")
except PackageNotFoundError:  # running from a source tree
    PACKAGE_VERSION = "0.0.0"

CODE_VERSIONS: dict[str, str] = {
    "media_metadata": "1",
    "audio": "1",
    "scenes": "1",
    "keyframes": "2",  # 2: samples.json duplicate_of (samples with the pixels of an earlier one have no image)
    "transcript": "1",
    "diarization": "2",  # 2: overlapped speech gets a second speaker; long audio clustered agglomeratively
    "speaker_transcript": "1",
    "audio_events": "1",
    "detections": "2",  # 2: samples share the results of an identical earlier sample (duplicate_of)
    "embeddings": "1",
    "timeline": "1",
}
