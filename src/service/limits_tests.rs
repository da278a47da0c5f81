//! Unit tests of the dialog limits: what each limit stops, and what it lets through.

use super::*;

fn limiter() -> PromptLimiter {
    PromptLimiter::new(RateLimits::default())
}

fn trusted(name: &str) -> LimitKey {
    LimitKey { name: name.into(), untrusted: false }
}

fn new_site(name: &str) -> LimitKey {
    LimitKey { name: name.into(), untrusted: true }
}

fn secs(t: Instant, s: u64) -> Instant {
    t + Duration::from_secs(s)
}

#[test]
fn a_trusted_site_whose_user_keeps_approving_is_never_refused() {
    let l = limiter();
    let t = Instant::now();
    for i in 0..1000 {
        let now = t + Duration::from_millis(i * 50);
        let opened = l.open(&trusted("https://egov.kz"), now).expect("never refused");
        l.close(opened, Ending::Approved, now);
    }
}

#[test]
fn approved_dialogs_of_a_new_site_give_their_place_back() {
    let l = limiter();
    let t = Instant::now();
    for i in 0..100 {
        let opened = l.open(&new_site("shop.kz"), secs(t, i / 10)).expect("approved: free");
        l.close(opened, Ending::Approved, secs(t, i / 10));
    }
}

#[test]
fn a_new_site_gets_at_most_n_unanswered_dialogs_per_minute() {
    let l = limiter();
    let t = Instant::now();
    for i in 0..5 {
        // Still open (or ended without the user approving or cancelling): counted.
        let _kept = l.open(&new_site("a.kz"), secs(t, i)).expect("within the limit");
    }
    assert_eq!(l.open(&new_site("a.kz"), secs(t, 10)).err(), Some(Limited::TooManyPrompts));
    assert!(l.open(&new_site("a.kz"), secs(t, 60)).is_ok(), "the window slides");
}

#[test]
fn all_new_sites_share_one_budget() {
    let l = limiter();
    let t = Instant::now();
    for i in 0..5 {
        let _kept = l.open(&new_site(&format!("evil{i}.example")), t).expect("shared budget");
    }
    let refused = l.open(&new_site("evil9.example"), t).err();
    assert_eq!(refused, Some(Limited::NewSitesBusy), "a pool of domains is one site");
    let opened = l.open(&trusted("https://egov.kz"), t).expect("trusted sites are not in it");
    l.close(opened, Ending::Approved, t);
}

#[test]
fn unapproved_dialogs_start_a_cooldown_that_ends() {
    for key in [trusted("https://egov.kz"), new_site("pest.kz")] {
        let l = limiter();
        let t = Instant::now();
        for i in 0..3 {
            let opened = l.open(&key, secs(t, i)).expect("open");
            l.close(opened, Ending::Unapproved, secs(t, i));
        }
        assert_eq!(l.may_queue(&key, secs(t, 5)), Err(Limited::CoolingDown));
        assert_eq!(l.open(&key, secs(t, 299)).err(), Some(Limited::CoolingDown));
        assert!(l.open(&key, secs(t, 303)).is_ok(), "{key:?}");
    }
}

#[test]
fn dialogs_that_failed_to_show_count_for_nothing() {
    let l = limiter();
    let t = Instant::now();
    for i in 0..20 {
        let opened = l.open(&new_site("portal.kz"), secs(t, i)).expect("never limited");
        l.close(opened, Ending::Failed, secs(t, i));
    }
    assert_eq!(l.may_queue(&new_site("portal.kz"), secs(t, 21)), Ok(()));
}

#[test]
fn unapproved_dialogs_spread_over_more_than_a_minute_do_not_cool_down() {
    let l = limiter();
    let t = Instant::now();
    for i in 0..3 {
        let opened = l.open(&trusted("o"), secs(t, i * 40)).expect("open");
        l.close(opened, Ending::Unapproved, secs(t, i * 40));
    }
    assert!(l.open(&trusted("o"), secs(t, 81)).is_ok());
}

#[test]
fn new_sites_cannot_fill_the_queue_in_front_of_a_portal() {
    let l = Arc::new(PromptLimiter::new(RateLimits { max_queued: 8, ..RateLimits::default() }));
    let a = l.enqueue(true).expect("first");
    let _b = l.enqueue(true).expect("second");
    assert_eq!(l.enqueue(true).err(), Some(Limited::QueueFull), "a quarter for new sites");
    let trusted: Vec<QueuePlace> = (0..8).map(|_| l.enqueue(false).expect("trusted")).collect();
    assert_eq!(l.enqueue(false).err(), Some(Limited::QueueFull));
    drop(a);
    assert!(l.enqueue(true).is_ok(), "places are freed");
    drop(trusted);
}
