//! Calls to the server: one call of a gRPC method with the retry policy for calls that are safe
//! to repeat ([`with_retry`], [`call`]), and the pages of a List method read one after the other
//! ([`paginate`]).

use std::future::Future;
use std::time::Duration;

use procura_proto::v1::{
    AccessEvent, Case, CaseRevision, Grant, ListAccessEventsResponse, ListCaseRevisionsResponse,
    ListCasesResponse, ListGrantsResponse, ListPrincipalsResponse, ListRegionsResponse,
    ListReleasesResponse, ListTokensResponse, Principal, Region, Release, Token,
};
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

/// The response of a List method: the items of one page and the token of the next page (empty
/// after the last page).
pub trait Page {
    /// What the List method lists.
    type Item;

    /// The items of the page and the token of the next page.
    fn into_page(self) -> (Vec<Self::Item>, String);
}

/// Implements [`Page`] for a List response from the names of its item list.
macro_rules! page {
    ($response:ty, $items:ident: $item:ty) => {
        impl Page for $response {
            type Item = $item;

            fn into_page(self) -> (Vec<$item>, String) {
                (self.$items, self.next_page_token)
            }
        }
    };
}

page!(ListCasesResponse, cases: Case);
page!(ListCaseRevisionsResponse, revisions: CaseRevision);
page!(ListRegionsResponse, regions: Region);
page!(ListReleasesResponse, releases: Release);
page!(ListPrincipalsResponse, principals: Principal);
page!(ListTokensResponse, tokens: Token);
page!(ListGrantsResponse, grants: Grant);
page!(ListAccessEventsResponse, events: AccessEvent);

/// Reads a List method page by page, each page under [`call`]: `request(read, page_token)` is
/// the request for the page after the `read` items so far (the first with an empty token).
/// Stops after the page whose next page token is empty, or once `limit` items are read, and
/// returns the items in order, at most `limit` of them.
pub async fn paginate<C, Req, Resp, B, F, Fut>(
    client: &C,
    limit: Option<usize>,
    mut request: B,
    mut method: F,
) -> Result<Vec<Resp::Item>, Status>
where
    C: Clone,
    Req: Clone,
    Resp: Page,
    B: FnMut(usize, String) -> Req,
    F: FnMut(C, Req) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
{
    let mut items = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = request(items.len(), std::mem::take(&mut page_token));
        let (page_items, next_page_token) = call(client, &page, &mut method).await?.into_page();
        items.extend(page_items);
        page_token = next_page_token;
        if page_token.is_empty() || limit.is_some_and(|l| items.len() >= l) {
            break;
        }
    }
    if let Some(limit) = limit {
        items.truncate(limit);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use procura_proto::v1::{ListRegionsRequest, ListRegionsResponse, Region};

    use super::*;

    /// Answers a ListRegions request from 5 regions in pages of `page_size`, the token being
    /// the index of the first region of the page.
    async fn list(
        request: ListRegionsRequest,
    ) -> Result<tonic::Response<ListRegionsResponse>, Status> {
        let codes: Vec<String> = (1..=5).map(|n| n.to_string()).collect();
        let start: usize = request.page_token.parse().unwrap_or(0);
        let end = (start + usize::try_from(request.page_size).unwrap()).min(codes.len());
        Ok(tonic::Response::new(ListRegionsResponse {
            regions: codes[start..end]
                .iter()
                .map(|code| Region {
                    code: code.clone(),
                    ..Region::default()
                })
                .collect(),
            next_page_token: if end < codes.len() {
                end.to_string()
            } else {
                String::new()
            },
            ..ListRegionsResponse::default()
        }))
    }

    /// The codes `paginate` returns over [`list`] in pages of 2, and the (items read, page
    /// token) of each request it made.
    async fn read_pages(limit: Option<usize>) -> (Vec<String>, Vec<(usize, String)>) {
        let mut requests = Vec::new();
        let regions = paginate(
            &(),
            limit,
            |read, page_token| {
                requests.push((read, page_token.clone()));
                ListRegionsRequest {
                    page_size: 2,
                    page_token,
                    ..ListRegionsRequest::default()
                }
            },
            |(), r| list(r),
        )
        .await
        .unwrap();
        (regions.into_iter().map(|r| r.code).collect(), requests)
    }

    #[tokio::test]
    async fn paginate_follows_the_tokens_to_the_last_page() {
        let (codes, requests) = read_pages(None).await;
        assert_eq!(codes, ["1", "2", "3", "4", "5"]);
        assert_eq!(
            requests,
            [(0, String::new()), (2, "2".to_owned()), (4, "4".to_owned())]
        );
    }

    #[tokio::test]
    async fn paginate_stops_at_the_limit() {
        let (codes, requests) = read_pages(Some(3)).await;
        assert_eq!(codes, ["1", "2", "3"]);
        assert_eq!(requests, [(0, String::new()), (2, "2".to_owned())]);
    }
}
