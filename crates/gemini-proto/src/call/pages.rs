//! The pages of `models.list`: [`ModelPages`].

use super::Exchange;
use crate::error::Error;
use crate::request::Api;
use crate::retry::RetryPolicy;
use crate::types::{ListModelsResponse, Model};

/// Walks the pages of `models.list`: which page to ask for next, and when to stop.
///
/// A page without a `nextPageToken` (or with an empty one) is the last. A server that hands out
/// the token it was just given would make the walk endless; that is an error instead.
///
/// ```
/// use gemini_proto::call::ModelPages;
/// use gemini_proto::types::ListModelsResponse;
/// use gemini_proto::{Api, Auth, Endpoint};
///
/// let api = Api::new(Endpoint::default(), Auth::api_key("key"));
/// let mut pages = ModelPages::new(Some(2));
/// let first = pages.next_page(&api).unwrap()?; // an Exchange for `GET models?pageSize=2`
/// # drop(first);
/// let page: ListModelsResponse = serde_json::from_str(
///     r#"{"models": [{"name": "models/a"}, {"name": "models/b"}], "nextPageToken": "t2"}"#,
/// ).unwrap();
/// assert_eq!(pages.handle_page(page)?.len(), 2);
/// assert!(pages.next_page(&api).is_some()); // `GET models?pageSize=2&pageToken=t2`
/// let last: ListModelsResponse = serde_json::from_str(r#"{"models": [{"name": "models/c"}]}"#).unwrap();
/// assert_eq!(pages.handle_page(last)?.len(), 1);
/// assert!(pages.next_page(&api).is_none());
/// # Ok::<(), gemini_proto::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ModelPages {
    page_size: Option<u32>,
    retry_policy: RetryPolicy,
    /// The token of the page to ask for next (`None` before the first page).
    next_token: Option<String>,
    requested: bool,
    done: bool,
    pages: u32,
}

impl ModelPages {
    /// Pages of at most `page_size` models (the service's default when `None`).
    pub fn new(page_size: Option<u32>) -> Self {
        Self {
            page_size,
            retry_policy: RetryPolicy::default(),
            next_token: None,
            requested: false,
            done: false,
            pages: 0,
        }
    }

    /// Each page's request follows `policy`.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// The exchange that fetches the next page, or `None` after the last page. Call
    /// [`handle_page`](Self::handle_page) with its answer before asking for another.
    pub fn next_page(&mut self, api: &Api) -> Option<Result<Exchange<ListModelsResponse>, Error>> {
        if self.done || self.requested {
            return None;
        }
        self.requested = true;
        let request = match api.list_models(self.page_size, self.next_token.as_deref()) {
            Ok(request) => request,
            Err(error) => {
                self.done = true;
                return Some(Err(error));
            }
        };
        Some(Ok(Exchange::new(request)
            .with_retry_policy(self.retry_policy.clone())
            .with_seed(u64::from(self.pages))))
    }

    /// Records the answer of the page last asked for; returns its models.
    pub fn handle_page(&mut self, page: ListModelsResponse) -> Result<Vec<Model>, Error> {
        self.requested = false;
        self.pages += 1;
        match page.next_page_token.filter(|token| !token.is_empty()) {
            None => self.done = true,
            Some(token) if self.next_token.as_deref() == Some(token.as_str()) => {
                self.done = true;
                return Err(Error::decode(
                    "the server returned the page token it was given: the listing would never end",
                    token.as_bytes(),
                ));
            }
            Some(token) => self.next_token = Some(token),
        }
        Ok(page.models)
    }

    /// True once the last page was handled (or the walk failed).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Ends the walk (after a page failed).
    pub fn stop(&mut self) {
        self.done = true;
        self.requested = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Auth, Endpoint};

    #[test]
    fn a_repeated_token_ends_the_walk_with_an_error() {
        let api = Api::new(Endpoint::default(), Auth::None);
        let mut pages = ModelPages::new(None);
        let page = |token: &str| -> ListModelsResponse {
            serde_json::from_value(serde_json::json!({"models": [], "nextPageToken": token}))
                .unwrap()
        };
        assert!(pages.next_page(&api).is_some());
        pages.handle_page(page("same")).unwrap();
        assert!(pages.next_page(&api).is_some());
        assert!(pages.handle_page(page("same")).is_err());
        assert!(pages.next_page(&api).is_none());
    }

    #[test]
    fn one_page_at_a_time() {
        let api = Api::new(Endpoint::default(), Auth::None);
        let mut pages = ModelPages::new(None);
        assert!(pages.next_page(&api).is_some());
        // The answer of the first page has not been handled yet.
        assert!(pages.next_page(&api).is_none());
        assert!(!pages.is_done());
    }
}
