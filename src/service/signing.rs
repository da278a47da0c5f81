//! The signing step of a request, free of prompts: what cannot be signed is refused before
//! anyone is asked ([`validate`]), and each document is signed in its format ([`sign_all`]).

use time::OffsetDateTime;

use super::{Documents, ServiceError, SignRequest};
use crate::crypto::Signer;
use crate::sign;

/// Rejects what cannot be signed before anyone is asked (digest lengths are checked when the
/// request is built: [`super::Digest`]).
pub(super) fn validate(request: &SignRequest) -> Result<(), ServiceError> {
    if request.documents.is_empty() {
        return Err(ServiceError::BadRequest("no data to sign".into()));
    }
    match &request.documents {
        Documents::Xml { element, texts } => {
            for text in texts {
                match element {
                    None => sign::xmldsig::check_document(text)?,
                    Some((tbs, parent)) => sign::xmldsig::check_element(text, tbs, parent)?,
                }
            }
        }
        Documents::CoSign { cms } => {
            sign::cms_verify::verify(cms, None)?; // every signature there must hold
        }
        _ => {}
    }
    Ok(())
}

/// One signature per document, in order. A batch signed with a key in memory
/// ([`Signer::concurrent`]) is spread over every core; a token's is signed one by one.
pub(super) fn sign_all(
    signer: &dyn Signer,
    request: &SignRequest,
    now: OffsetDateTime,
) -> Result<Vec<Vec<u8>>, ServiceError> {
    let workers = if signer.concurrent() { cores() } else { 1 };
    let signatures = match &request.documents {
        Documents::Cms { attached: true, data } => in_order(data, workers, |document| -> Signed {
            Ok(sign::cms::sign_data(signer, &document.to_bytes()?, true, now)?)
        })?,
        // Detached: only the digest is needed, and a large document is never decoded whole.
        Documents::Cms { attached: false, data } => {
            in_order(data, workers, |document| -> Signed {
                let digest = document.digest(signer.algorithm().hash())?;
                Ok(sign::cms::sign_digest(signer, &digest, now)?)
            })?
        }
        Documents::Digests(digests) => in_order(digests, workers, |digest| {
            sign::cms::sign_digest(signer, digest.as_bytes(), now)
        })?,
        Documents::Xml { element: None, texts } => in_order(texts, workers, |text| {
            sign::xmldsig::sign_enveloped(signer, text).map(String::into_bytes)
        })?,
        Documents::Xml { element: Some((tbs, parent)), texts } => {
            in_order(texts, workers, |text| {
                sign::xmldsig::sign_element(signer, text, tbs, parent).map(String::into_bytes)
            })?
        }
        Documents::Raw(data) => in_order(data, workers, |document| -> Signed {
            Ok(sign::raw::sign(signer, &document.to_bytes()?)?)
        })?,
        Documents::CoSign { cms } => vec![sign::cosign::add_signer(signer, cms, now)?],
    };
    Ok(signatures)
}

/// One document's signature, or why it was not made.
type Signed = Result<Vec<u8>, ServiceError>;

/// The threads a batch may use: the cores the process may run on.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// `sign` applied to every item, on up to `workers` threads, the results in the items' order;
/// the error of the first item (in order) that failed. Each thread takes the next unsigned
/// item, so documents of different sizes keep every thread busy.
fn in_order<T: Sync, R: Send, E: Send>(
    items: &[T],
    workers: usize,
    sign: impl Fn(&T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let workers = workers.min(items.len());
    if workers <= 1 {
        return items.iter().map(&sign).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, Result<R, E>)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { return done };
                        done.push((i, sign(item)));
                    }
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::in_order;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Runs `in_order` over 0..n with `workers`, each item taking a moment; the results and the
    /// most items seen in flight at once.
    fn run(n: usize, workers: usize, fail: Option<usize>) -> (Result<Vec<usize>, usize>, usize) {
        let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let items: Vec<usize> = (0..n).collect();
        let result = in_order(&items, workers, |&i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(if i % 3 == 0 { 6 } else { 1 }));
            running.fetch_sub(1, Ordering::SeqCst);
            if fail.is_some_and(|f| i >= f) {
                Err(i)
            } else {
                Ok(i * 10)
            }
        });
        (result, most.into_inner())
    }

    #[test]
    fn a_batch_on_several_threads_keeps_the_request_order() {
        let (result, most) = run(40, 4, None);
        assert_eq!(result, Ok((0..40).map(|i| i * 10).collect()));
        assert!(most > 1, "items ran at once: {most}");
        assert!(most <= 4, "never more than the workers: {most}");
    }

    #[test]
    fn one_worker_signs_one_at_a_time() {
        let (result, most) = run(10, 1, None);
        assert_eq!(result, Ok((0..10).map(|i| i * 10).collect()));
        assert_eq!(most, 1, "a token signs one document at a time");
    }

    #[test]
    fn the_first_failure_in_order_is_the_answer() {
        assert_eq!(run(30, 4, Some(7)).0, Err(7));
        assert_eq!(run(0, 4, None).0, Ok(vec![]));
    }
}
