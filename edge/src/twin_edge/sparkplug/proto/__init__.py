"""Generated protobuf bindings for the vendored Eclipse Tahu ``sparkplug_b.proto`` (EPL-2.0, see LICENSE-EPL-2.0).

Regenerate (from this directory) with grpcio-tools matching the pinned protobuf minor (5.29 -> grpcio-tools 1.69)::

    python -m grpc_tools.protoc --proto_path=. --python_out=. --pyi_out=. sparkplug_b.proto

Never edit ``sparkplug_b_pb2.py`` by hand.
"""
