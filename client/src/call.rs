//! Calls to the server: one call of a gRPC method with the retry policy for calls that are safe
//! to repeat ([`with_retry`], [`call`]).

use std::future::Future;
use std::time::Duration;

use tonic::{Code, Status};

/// How many times an idempotent call is tried when the server is unavailable.
const ATTEMPTS: u32 = 3;

/// Makes a call, trying again (after 0.2 s, then 0.4 s) while the server answers
/// UNAVAILABLE. Only for calls that are safe to repeat: reads, and creates that carry a
/// `request_id` (AIP-155), which the server answers with the record first stored.
pub async fn with_retry<T, F, Fut>(mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    let mut delay = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(response) => return Ok(response.into_inner()),
            Err(status) if status.code() == Code::Unavailable && attempt < ATTEMPTS => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(status) => return Err(status),
        }
    }
}

/// Calls `method` on a clone of `client` with a clone of `request` under [`with_retry`]:
/// `call(&client, &request, |mut c, r| async move { c.get_case(r).await })`.
pub async fn call<C, Req, T, F, Fut>(client: &C, request: &Req, mut method: F) -> Result<T, Status>
where
    C: Clone,
    Req: Clone,
    F: FnMut(C, Req) -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    with_retry(|| method(client.clone(), request.clone())).await
}
