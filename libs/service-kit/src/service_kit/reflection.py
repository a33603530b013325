"""gRPC server reflection in both versions clients ask for: `grpc.reflection.v1.ServerReflection` (grpcurl,
Postman, buf curl and current grpc tools try it first) beside `grpc.reflection.v1alpha.ServerReflection` (older
clients). grpcio-reflection ships only v1alpha for Python; v1 is the same protocol under another package name
(the messages are field for field the same, so their bytes are too). So one servicer answers both: v1 is
registered with v1alpha's message classes, and its descriptor, v1alpha's file renamed into the v1 package, is
added to the descriptor pool, so a client can describe the v1 service as well."""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection as v1alpha
from grpc_reflection.v1alpha import reflection_pb2 as v1alpha_pb2

V1ALPHA_SERVICE_NAME = v1alpha.SERVICE_NAME  # grpc.reflection.v1alpha.ServerReflection
V1_PACKAGE = "grpc.reflection.v1"
V1_FILE = "grpc/reflection/v1/reflection.proto"
V1_SERVICE_NAME = f"{V1_PACKAGE}.ServerReflection"
METHOD = "ServerReflectionInfo"


def _add_v1_descriptor(pool: descriptor_pool.DescriptorPool) -> None:
    try:
        pool.FindFileByName(V1_FILE)
        return
    except KeyError:
        pass
    file = descriptor_pb2.FileDescriptorProto()
    v1alpha_pb2.DESCRIPTOR.CopyToProto(file)
    file.name, file.package = V1_FILE, V1_PACKAGE
    prefix = f".{v1alpha_pb2.DESCRIPTOR.package}."
    for message in file.message_type:
        for field in message.field:
            if field.type_name.startswith(prefix):
                field.type_name = f".{V1_PACKAGE}.{field.type_name[len(prefix):]}"
    for service in file.service:
        for method in service.method:
            method.input_type = f".{V1_PACKAGE}.{method.input_type[len(prefix):]}"
            method.output_type = f".{V1_PACKAGE}.{method.output_type[len(prefix):]}"
    file.options.Clear()
    pool.Add(file)


def enable(server: grpc.aio.Server, service_names: Iterable[str]) -> list[str]:
    """Registers both versions for `service_names` (plus health and the two reflection services themselves);
    returns the names listed."""
    pool = descriptor_pool.Default()
    _add_v1_descriptor(pool)
    listed = [*service_names, V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME]
    servicer = v1alpha.aio.ReflectionServicer(listed, pool=pool)
    for name in (V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME):
        handlers = {METHOD: grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=v1alpha_pb2.ServerReflectionRequest.FromString,
            response_serializer=v1alpha_pb2.ServerReflectionResponse.SerializeToString)}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
        server.add_registered_method_handlers(name, handlers)
    return listed
