"""The scenario file: its format (pydantic models and rules), loading YAML with line numbers,
`extends:` and variant merging, the checks made when a file is loaded (names that refer to other
parts of the file, expectations against the tables of metric names and checks), warnings, field
paths and the JSON Schema.

Layer 1 of 6 (scenario -> model -> analysis -> report -> execution -> cli). It may import only
`simlock.errors`, `simlock._version` and third-party parsing libraries (pydantic, PyYAML): no
numpy-heavy module, so that `simlock validate` starts fast.
"""
