"""Shipped ONNX models: the files live in the repository folder models/."""
