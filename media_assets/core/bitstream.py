"""Cheap bitstream inspection: which compressed video packets no other frame references.

A non-reference frame can be left out of decoding without changing any other decoded frame. The visual pass
uses this to decode only reference frames (about half of a typical H.264/HEVC stream) plus the non-reference
frames that lie next to a suspected shot change, which keeps cut positions frame-exact at a fraction of the
cost of a full decode. Only codecs whose NAL headers say so are handled; for anything else every packet is
decoded.
"""

from __future__ import annotations

from collections.abc import Callable

NonRefTest = Callable[[bytes], bool]


def _iter_nals_length_prefixed(data: bytes, length_size: int):
    i, n = 0, len(data)
    while i + length_size <= n:
        size = int.from_bytes(data[i : i + length_size], "big")
        i += length_size
        if size <= 0 or i + size > n:
            return
        yield data[i : i + 2]
        i += size


def _iter_nals_annexb(data: bytes):
    n = len(data)
    i = data.find(b"\x00\x00\x01")
    while 0 <= i < n - 3:
        start = i + 3
        yield data[start : start + 2]
        i = data.find(b"\x00\x00\x01", start)


def _h264_nonref(headers) -> bool:
    vcl = False
    for head in headers:
        if not head:
            continue
        nal_type = head[0] & 0x1F
        if nal_type in (1, 5):
            vcl = True
            if (head[0] >> 5) & 0x3:
                return False
    return vcl


def _hevc_nonref(headers) -> bool:
    vcl = False
    for head in headers:
        if len(head) < 2:
            continue
        nal_type = (head[0] >> 1) & 0x3F
        temporal_id = (head[1] & 0x7) - 1
        if nal_type < 32:
            vcl = True
            # Sub-layer non-reference pictures (TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N, RSV_VCL_N*) are
            # unreferenced only when no higher temporal layer exists; require TemporalId 0.
            if not (nal_type <= 14 and nal_type % 2 == 0 and temporal_id == 0):
                return False
    return vcl


def nonref_test_for(codec: str, extradata: bytes | None) -> NonRefTest | None:
    """A function telling whether a packet is a non-reference frame, or None when unknown for this codec."""
    extradata = extradata or b""
    if codec == "h264":
        if extradata[:1] == b"\x01" and len(extradata) >= 5:  # avcC: length-prefixed NAL units
            length_size = (extradata[4] & 0x3) + 1
            return lambda data: _h264_nonref(_iter_nals_length_prefixed(data, length_size))
        return lambda data: _h264_nonref(_iter_nals_annexb(bytes(data)))
    if codec == "hevc":
        if len(extradata) >= 23 and extradata[0] == 1:  # hvcC
            length_size = (extradata[21] & 0x3) + 1
            return lambda data: _hevc_nonref(_iter_nals_length_prefixed(data, length_size))
        return lambda data: _hevc_nonref(_iter_nals_annexb(bytes(data)))
    return None
