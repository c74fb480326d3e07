//! The budget policy's unit tests (a file of their own: the policy is read without them).

use super::*;

fn view(size: usize, idle: usize, max_size: usize, idle_secs: u64) -> PoolView {
    PoolView {
        size,
        idle,
        max_size,
        oldest_idle: Duration::from_secs(idle_secs),
    }
}

#[test]
fn a_tenant_waits_for_its_own_connection_only_when_all_are_busy_and_the_budget_is_spent() {
    // Connections, all busy, below its size, budget spent: wait.
    assert!(BudgetPolicy::waits_for_own(0, view(2, 0, 5, 0)));
    // Budget left: open another.
    assert!(!BudgetPolicy::waits_for_own(1, view(2, 0, 5, 0)));
    // No connection yet: it must open one.
    assert!(!BudgetPolicy::waits_for_own(0, view(0, 0, 5, 0)));
    // One idle: it takes that.
    assert!(!BudgetPolicy::waits_for_own(0, view(2, 1, 5, 0)));
    // At its size: the pool itself queues the request.
    assert!(!BudgetPolicy::waits_for_own(0, view(5, 0, 5, 0)));
}

#[test]
fn only_a_tenant_without_connections_may_close_another_pools_idle_connection() {
    assert!(BudgetPolicy::may_take_idle(0));
    assert!(!BudgetPolicy::may_take_idle(1));
    assert!(!BudgetPolicy::may_take_idle(4));
}

#[test]
fn the_victim_keeps_another_connection_if_any_pool_can_then_the_longest_idle() {
    // "b" is idle longest but would lose its last connection; "c" keeps one after.
    let pools = [
        ("a", view(3, 1, 5, 5)),
        ("b", view(1, 1, 5, 60)),
        ("c", view(2, 2, 5, 30)),
    ];
    assert_eq!(
        BudgetPolicy::idle_victim(pools),
        Some(("c", Duration::from_secs(30)))
    );
    // Only last connections left: the longest idle goes.
    let last_ones = [("a", view(1, 1, 5, 5)), ("b", view(1, 1, 5, 60))];
    assert_eq!(
        BudgetPolicy::idle_victim(last_ones),
        Some(("b", Duration::from_secs(60)))
    );
}

#[test]
fn pools_without_idle_connections_are_never_victims() {
    let busy = [("a", view(5, 0, 5, 0)), ("b", view(1, 0, 5, 0))];
    assert_eq!(BudgetPolicy::idle_victim(busy), None);
    assert_eq!(
        BudgetPolicy::idle_victim(Vec::<(&str, PoolView)>::new()),
        None
    );
}

#[test]
fn room_is_made_from_a_spare_connection_first() {
    let pools = [
        ("last", view(1, 1, 5, 90)),
        ("busy", view(3, 0, 5, 0)),
        ("spare", view(2, 1, 5, 10)),
    ];
    assert_eq!(
        BudgetPolicy::make_room(1, pools),
        Room::Close("spare", Duration::from_secs(10))
    );
}

#[test]
fn claims_wait_for_busy_pools_to_shrink_before_a_tenant_loses_its_last() {
    // "busy" holds two connections beyond its first: up to two claims wait for them.
    let pools = [("last", view(1, 1, 5, 90)), ("busy", view(3, 0, 5, 0))];
    assert_eq!(BudgetPolicy::make_room(1, pools), Room::Wait);
    assert_eq!(BudgetPolicy::make_room(2, pools), Room::Wait);
    // A third claim would wait for nothing: the least recently used idle one goes.
    let pools = [
        ("older", view(1, 1, 5, 90)),
        ("newer", view(1, 1, 5, 5)),
        ("busy", view(3, 0, 5, 0)),
    ];
    assert_eq!(
        BudgetPolicy::make_room(3, pools),
        Room::Close("older", Duration::from_secs(90))
    );
}

#[test]
fn with_every_pool_at_one_connection_the_least_recently_used_goes_at_once() {
    let pools = [("a", view(1, 1, 5, 5)), ("b", view(1, 1, 5, 60))];
    assert_eq!(
        BudgetPolicy::make_room(1, pools),
        Room::Close("b", Duration::from_secs(60))
    );
    // Nothing idle, nothing to shrink: wait for a connection to come back.
    let busy = [("a", view(1, 0, 5, 0)), ("b", view(1, 0, 5, 0))];
    assert_eq!(BudgetPolicy::make_room(1, busy), Room::Wait);
    // No unmet claim: nothing is closed.
    assert_eq!(BudgetPolicy::make_room(0, pools), Room::Wait);
}

#[test]
fn a_connection_given_back_is_closed_only_for_a_claim_and_never_a_pools_last() {
    assert!(BudgetPolicy::shrinks_on_return(1, 2));
    assert!(!BudgetPolicy::shrinks_on_return(1, 1));
    assert!(!BudgetPolicy::shrinks_on_return(0, 3));
}

#[test]
fn a_closed_connection_is_given_time_to_come_back_within_the_deadline() {
    let grace = Duration::from_millis(25);
    let long = Duration::from_secs(1);
    assert_eq!(
        BudgetPolicy::wait_slice(true, grace, long),
        grace + RELEASE_SETTLE
    );
    assert_eq!(BudgetPolicy::wait_slice(false, grace, long), BUDGET_POLL);
    let short = Duration::from_millis(3);
    assert_eq!(BudgetPolicy::wait_slice(true, grace, short), short);
}

#[test]
fn limits_are_told_apart_by_the_routine_that_raised_them() {
    assert_eq!(
        Refusal::from_routine(Some("InitializeSessionUserId")),
        Refusal::Scoped
    );
    assert_eq!(
        Refusal::from_routine(Some("CheckMyDatabase")),
        Refusal::Scoped
    );
    for full in ["InitProcess", "InitPostgres", "ProcessStartupPacket"] {
        assert_eq!(Refusal::from_routine(Some(full)), Refusal::ServerFull);
    }
    assert_eq!(Refusal::from_routine(None), Refusal::ServerFull);
}

#[test]
fn a_full_server_shrinks_the_budget_but_never_below_one() {
    let policy = BudgetPolicy::new(3);
    assert_eq!(policy.budget(), 3);
    assert_eq!(
        policy.on_refusal(Refusal::ServerFull),
        AfterRefusal::ForgetPermit
    );
    assert_eq!(
        policy.on_refusal(Refusal::ServerFull),
        AfterRefusal::ForgetPermit
    );
    assert_eq!(policy.budget(), 1);
    assert_eq!(policy.on_refusal(Refusal::ServerFull), AfterRefusal::Retry);
    assert_eq!(policy.budget(), 1);
}

#[test]
fn a_role_or_database_limit_never_shrinks_the_budget() {
    let policy = BudgetPolicy::new(3);
    assert_eq!(policy.on_refusal(Refusal::Scoped), AfterRefusal::Retry);
    assert_eq!(policy.budget(), 3);
}

#[test]
fn the_budget_regrows_one_permit_per_interval_up_to_its_limit() {
    let policy = BudgetPolicy::new(4);
    policy.on_refusal(Refusal::ServerFull);
    policy.on_refusal(Refusal::ServerFull);
    assert_eq!(policy.budget(), 2);
    assert!(policy.regrow());
    assert_eq!(policy.budget(), 3);
    assert!(policy.regrow());
    assert_eq!(policy.budget(), 4);
    assert!(!policy.regrow(), "nothing left to give back");
    assert_eq!(policy.budget(), 4);
}

#[test]
fn a_budget_of_one_never_shrinks() {
    let policy = BudgetPolicy::new(1);
    assert_eq!(policy.on_refusal(Refusal::ServerFull), AfterRefusal::Retry);
    assert_eq!(policy.budget(), 1);
    assert!(!policy.regrow());
}
