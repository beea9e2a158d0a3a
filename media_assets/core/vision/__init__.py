"""Vision tier core (plain Python, no Dagster): what is on screen, and when.

- ``objects``: COCO object detectors (YOLO ONNX, CenterNet ONNX, ultralytics) behind one interface;
- ``faces``: RetinaFace boxes and 5 landmarks; ``ocr``: RapidOCR text lines;
- ``batching``: the three models over the frames of many partitions in shared batches;
- ``events``: text events and object tracks over time; ``draw``: the contact sheet with boxes;
- ``onnx_runtime``: execution mode, providers, threads, model-load errors; ``vision_models``: typed results.
"""
