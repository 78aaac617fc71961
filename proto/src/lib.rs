//! The `procura.v1` contract: messages, tonic clients and servers, and the file descriptor set
//! that the server registers with gRPC reflection.

/// Generated code of package `procura.v1`.
#[allow(clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("procura.v1");
}

/// The encoded `FileDescriptorSet` of `procura.v1`, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("procura_descriptor");
