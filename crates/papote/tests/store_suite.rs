//! One store test suite, run against every backend: SQLite always, PostgreSQL when
//! `PAPOTE_TEST_POSTGRES` names a server (`.ci/run` starts one; `scripts/test-services`).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use papote::store::{
    AuditEntry, ConnectionRecord, EntryRecord, NewCase, NewReport, NewSanction, PostgresStore, SqliteStore, Store,
    StoreError, verify_audit_chain,
};

fn entry(member: &str, device: &str, network: &str, at: i64) -> EntryRecord {
    EntryRecord {
        member_id: member.into(),
        nickname: format!("nick-{member}"),
        skeleton: format!("nick-{member}"),
        gender: "femme".into(),
        age: 30,
        postcode: "59000".into(),
        insee: "59350".into(),
        city: "Lille".into(),
        ip: "203.0.113.5".into(),
        port: 40_000,
        user_agent: "Firefox".into(),
        device_key: device.into(),
        network_key: network.into(),
        entered_at: at,
    }
}

fn audit(action: &str, at: i64) -> AuditEntry {
    AuditEntry {
        at,
        moderator_id: None,
        moderator: "suite".into(),
        action: action.into(),
        target: "t".into(),
        reason: "r".into(),
        details: "{}".into(),
    }
}

async fn suite(store: Arc<dyn Store>) {
    // Secrets are created once.
    let a = store.secret("k", &|| "one".into()).await.unwrap();
    let b = store.secret("k", &|| "two".into()).await.unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("one", "one"));
    store.set_setting("panic", "{}").await.unwrap();
    store.set_setting("panic", "{\"x\":1}").await.unwrap();
    assert_eq!(store.setting("panic").await.unwrap().as_deref(), Some("{\"x\":1}"));
    assert_eq!(store.setting("nothing").await.unwrap(), None);

    // Entries, connection logs, linked sessions.
    store.record_entry(&entry("m1", "dev1", "net1", 1_000)).await.unwrap();
    store.record_entry(&entry("m2", "dev1", "net2", 2_000)).await.unwrap();
    store.record_entry(&entry("m3", "dev3", "net1", 3_000)).await.unwrap();
    store.record_entry(&entry("m4", "dev4", "net4", 4_000)).await.unwrap();
    store.end_entry("m1", 5_000).await.unwrap();
    let m1 = store.entry_of("m1").await.unwrap().unwrap();
    assert_eq!((m1.ended_at, m1.port, m1.city.as_str()), (Some(5_000), 40_000, "Lille"));
    assert!(store.entry_of("nobody").await.unwrap().is_none());
    let mut linked: Vec<(String, String)> =
        store.linked_sessions("m1").await.unwrap().into_iter().map(|l| (l.member_id, l.link)).collect();
    linked.sort();
    assert_eq!(linked, [("m2".into(), "device".into()), ("m3".into(), "network".into())]);
    let id = store
        .open_connection(&ConnectionRecord {
            member_id: Some("m1".into()),
            kind: "websocket",
            ip: "203.0.113.5".into(),
            port: 5555,
            opened_at: 1_100,
        })
        .await
        .unwrap();
    store.close_connection(id, 1_200).await.unwrap();
    let connections = store.connections_of("m1").await.unwrap();
    assert_eq!(connections.len(), 2, "the entry's own line, then the WebSocket");
    assert_eq!(
        (connections[0].kind.as_str(), connections[0].port, connections[0].opened_at, connections[0].closed_at),
        ("entry", 40_000, 1_000, Some(1_000))
    );
    assert_eq!((connections[1].port, connections[1].closed_at), (5555, Some(1_200)));

    // Entry locks.
    store.add_entry_locks(&[("device", "dev9"), ("network", "net9")], "underage", 1_000, 10_000).await.unwrap();
    let lock = store.entry_lock(&["zzz", "net9"], 2_000).await.unwrap().unwrap();
    assert_eq!((lock.until, lock.reason.as_str(), lock.sanction_id), (10_000, "underage", None));
    assert!(store.entry_lock(&["dev9"], 10_000).await.unwrap().is_none());

    // Reports open cases; automatic cases too; the queue is by severity, trusted, age.
    let report = NewReport {
        created_at: 3_000,
        reporter_id: "m2".into(),
        target_id: "m1".into(),
        target_nickname: "nick-m1".into(),
        category: "spam".into(),
        comment: "pub".into(),
        text: "achetez".into(),
        room: Some("sport".into()),
        message_id: Some(42),
        evidence: "{\"message\":{\"id\":42}}".into(),
        severity: 5,
    };
    let (_, spam_case) = store.insert_report(&report).await.unwrap();
    let (_, trusted_spam) = store.insert_report(&NewReport { created_at: 3_500, ..report.clone() }).await.unwrap();
    store.mark_trusted(trusted_spam).await.unwrap();
    let minor_case = store
        .insert_case(&NewCase {
            created_at: 4_000,
            source: "auto",
            severity: 0,
            member_id: "m3".into(),
            nickname: "nick-m3".into(),
            categories: vec!["minor_claim".into()],
            rules: vec!["minor.fr.age".into()],
            context: "dm:m4".into(),
            text: "j'ai 14 ans".into(),
            report_id: None,
            evidence: "{}".into(),
        })
        .await
        .unwrap();
    let queue: Vec<i64> = store.open_cases(10).await.unwrap().iter().map(|c| c.id).collect();
    assert_eq!(queue, [minor_case, trusted_spam, spam_case]);
    let case = store.case(minor_case).await.unwrap().unwrap();
    assert_eq!((case.source.as_str(), case.categories.as_str()), ("auto", "[\"minor_claim\"]"));
    assert_eq!(store.cases_of("m1").await.unwrap().len(), 2);

    // Moderators: unique names, login failures, sessions.
    let moderator = store.create_moderator("alice", "moderator", "hash", 1).await.unwrap();
    let other = store.create_moderator("bob", "admin", "hash", 1).await.unwrap();
    assert!(matches!(store.create_moderator("alice", "admin", "h", 2).await, Err(StoreError::Conflict)));
    store.set_login_failures(moderator, 3, 99).await.unwrap();
    let row = store.moderator_by_name("alice").await.unwrap().unwrap();
    assert_eq!((row.failed_logins, row.locked_until, row.disabled), (3, 99, false));
    assert_eq!(store.moderator_by_id(other).await.unwrap().unwrap().role, "admin");
    store.create_moderator_session("tok", moderator, "csrf", 1_000, 9_000).await.unwrap();
    let (who, csrf) = store.moderator_session("tok", 2_000).await.unwrap().unwrap();
    assert_eq!((who.name.as_str(), csrf.as_str()), ("alice", "csrf"));
    assert!(store.moderator_session("tok", 9_000).await.unwrap().is_none(), "expired");
    store.delete_moderator_session("tok").await.unwrap();
    assert!(store.moderator_session("tok", 2_000).await.unwrap().is_none());

    // Dismissing closes a case with its audit entry.
    store.decide_case(spam_case, "dismissed", moderator, "not spam", &audit("dismiss", 6_000)).await.unwrap();
    assert_eq!(store.case(spam_case).await.unwrap().unwrap().status, "dismissed");
    assert!(matches!(
        store.decide_case(999_999, "dismissed", moderator, "", &audit("x", 6_001)).await,
        Err(StoreError::NotFound)
    ));

    // A sanction with locks closes its case; an appeal overturned lifts the locks.
    let sanction = store
        .apply_sanction(
            &NewSanction {
                created_at: 7_000,
                member_id: "m1".into(),
                nickname: "nick-m1".into(),
                kind: "ban".into(),
                reason: "spam".into(),
                category: "spam".into(),
                facts: "pub".into(),
                expires_at: Some(100_000),
                moderator_id: Some(moderator),
                case_id: Some(trusted_spam),
                appeal_code: "ABCD-EFGH-JKLM".into(),
                statement: "{}".into(),
                locks: vec![("device".into(), "dev1".into()), ("nickname".into(), "nick-m1".into())],
            },
            &audit("ban", 7_000),
        )
        .await
        .unwrap();
    assert_eq!(store.case(trusted_spam).await.unwrap().unwrap().status, "actioned");
    let lock = store.entry_lock(&["dev1"], 8_000).await.unwrap().unwrap();
    assert_eq!((lock.reason.as_str(), lock.sanction_id), ("ban", Some(sanction)));
    let row = store.sanction_by_code("ABCD-EFGH-JKLM").await.unwrap().unwrap();
    assert_eq!((row.id, row.status.as_str(), row.expires_at), (sanction, "active", Some(100_000)));
    assert_eq!(store.sanctions_of("m1").await.unwrap().len(), 1);
    let appeal = store.insert_appeal(sanction, "sorry", 8_000).await.unwrap();
    assert!(matches!(store.insert_appeal(sanction, "again", 8_001).await, Err(StoreError::Conflict)));
    assert_eq!(store.open_appeals().await.unwrap().len(), 1);
    store.decide_appeal(appeal, other, true, "first time", &audit("appeal_overturn", 9_000)).await.unwrap();
    assert_eq!(store.appeal(appeal).await.unwrap().unwrap().status, "overturned");
    assert_eq!(store.sanction(sanction).await.unwrap().unwrap().status, "overturned");
    assert!(store.entry_lock(&["dev1", "nick-m1"], 9_500).await.unwrap().is_none(), "locks lifted");
    assert!(matches!(
        store.decide_appeal(appeal, other, false, "", &audit("x", 9_600)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.appeals_of(sanction).await.unwrap().len(), 1);

    // The audit chain verifies, and newest entries come first.
    store.append_audit(&audit("panic_on", 10_000)).await.unwrap();
    let chain = store.audit_chain().await.unwrap();
    assert_eq!(chain.len(), 4);
    assert_eq!(verify_audit_chain(&chain), None);
    let mut tampered = chain.clone();
    tampered[1].entry.reason = "rewritten".into();
    assert_eq!(verify_audit_chain(&tampered), Some(tampered[1].id));
    let last = store.audit_log(2).await.unwrap();
    assert_eq!(last.iter().map(|r| r.entry.action.as_str()).collect::<Vec<_>>(), ["panic_on", "appeal_overturn"]);

    // Transparency figures come from the same store.
    let stats = store.transparency().await.unwrap();
    assert_eq!(stats.automated_holds, 1);
    assert!(stats.sanctions_by_kind.contains(&("ban".into(), false, 1)));
    assert_eq!(stats.report_decision_delays.len(), 2);
    assert!(stats.appeals_by_status.contains(&("overturned".into(), 1)));
}

#[tokio::test]
async fn sqlite_backend() {
    suite(Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap())).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: PAPOTE_TEST_POSTGRES=postgres://… (see scripts/test-services)"]
async fn postgres_backend() {
    let url = std::env::var("PAPOTE_TEST_POSTGRES").expect("PAPOTE_TEST_POSTGRES");
    let url = PostgresStore::fresh_database_for_tests(&url, "papote_store_suite").await.unwrap();
    suite(Arc::new(PostgresStore::open(&url).await.unwrap())).await;
}
