"""The run configuration: schema (frozen, validated dataclasses), field names and parsing, presets."""
