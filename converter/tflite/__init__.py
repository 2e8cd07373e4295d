"""TensorFlow Lite import: `reader` parses and validates a .tflite flatbuffer, `import_graph`
turns it into a Gossamer Graph (see docs/tflite-import.md for what is mapped so far)."""
