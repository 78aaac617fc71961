//! Diesel table definitions, matching `server/migrations`.

diesel::table! {
    /// The region tree (行政区划).
    regions (code) {
        code -> Text,
        parent_code -> Nullable<Text>,
        level -> SmallInt,
        name -> Text,
        name_en -> Text,
    }
}

diesel::table! {
    /// Closure of the region tree: every (ancestor-or-self, region) pair.
    region_ancestors (ancestor_code, code) {
        ancestor_code -> Text,
        code -> Text,
        ancestor_level -> SmallInt,
    }
}

diesel::table! {
    /// 行政检察监督案件
    cases (id) {
        id -> BigInt,
        region_code -> Text,
        case_number -> Text,
        case_type -> SmallInt,
        status -> SmallInt,
        applicant_type -> SmallInt,
        sector -> SmallInt,
        accepted_on -> Date,
        concluded_on -> Nullable<Date>,
        leader_handled -> Bool,
        public_hearing -> Bool,
        private_enterprise -> Bool,
        spp_listed_batch -> Integer,
        typical -> Bool,
        summary -> Text,
        request_id -> Nullable<Uuid>,
        created_by -> Text,
        create_reason -> Text,
        version -> Integer,
        create_time -> Timestamptz,
        update_time -> Timestamptz,
    }
}

diesel::table! {
    /// 监督措施
    measures (id) {
        id -> BigInt,
        case_id -> BigInt,
        kind -> SmallInt,
        issued_on -> Date,
        addressee_type -> SmallInt,
        addressee -> Text,
        adoption -> SmallInt,
        answered_on -> Nullable<Date>,
        request_id -> Nullable<Uuid>,
        create_time -> Timestamptz,
        update_time -> Timestamptz,
    }
}

diesel::table! {
    /// 行政争议实质性化解
    resolutions (case_id) {
        case_id -> BigInt,
        method -> SmallInt,
        resolved_on -> Date,
        note -> Text,
        request_id -> Nullable<Uuid>,
        create_time -> Timestamptz,
    }
}

diesel::table! {
    /// 司法救助
    judicial_aid (id) {
        id -> BigInt,
        case_id -> BigInt,
        granted_on -> Date,
        amount_fen -> BigInt,
        recipient -> Text,
        request_id -> Nullable<Uuid>,
        create_time -> Timestamptz,
    }
}

diesel::joinable!(cases -> regions (region_code));
diesel::joinable!(measures -> cases (case_id));
diesel::joinable!(resolutions -> cases (case_id));
diesel::joinable!(judicial_aid -> cases (case_id));

diesel::table! {
    /// 修订记录: every change to a case or a record under it.
    case_revisions (case_id, revision) {
        case_id -> BigInt,
        revision -> Integer,
        revise_time -> Timestamptz,
        actor -> Text,
        reason -> Text,
        changes -> Jsonb,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
    }
}

diesel::table! {
    /// 发布版本: rollups frozen as published.
    releases (id) {
        id -> BigInt,
        title -> Text,
        published_by -> Text,
        publish_time -> Timestamptz,
        as_of -> Timestamptz,
        rollup -> Bytea,
        canonical_values -> Text,
        sha256 -> Text,
        request_id -> Nullable<Uuid>,
        as_of_snapshot -> Nullable<Text>,
    }
}

diesel::table! {
    /// Each case's GetCase answer, ready (`procura.v1.Case`, protobuf-encoded), as of the
    /// case's current version; see `service::answers`.
    case_docs (case_id) {
        case_id -> BigInt,
        doc -> Bytea,
    }
}

diesel::table! {
    /// 主体: people and services that call procura.
    principals (id) {
        id -> Text,
        display_name -> Text,
        kind -> SmallInt,
        created_by -> Text,
        create_time -> Timestamptz,
    }
}

diesel::table! {
    /// Bearer tokens, kept as the SHA-256 of their secret.
    access_tokens (id) {
        id -> BigInt,
        principal_id -> Text,
        secret_hash -> Bytea,
        description -> Text,
        expire_time -> Timestamptz,
        revoke_time -> Nullable<Timestamptz>,
        created_by -> Text,
        create_time -> Timestamptz,
    }
}

diesel::table! {
    /// 授权: a role held at a region and its subtree.
    grants (id) {
        id -> BigInt,
        principal_id -> Text,
        role -> SmallInt,
        region_code -> Text,
        expire_time -> Nullable<Timestamptz>,
        revoke_time -> Nullable<Timestamptz>,
        created_by -> Text,
        create_time -> Timestamptz,
    }
}

diesel::table! {
    /// One row: bumped by every change to principals, tokens or grants.
    access_version (only_row) {
        only_row -> Bool,
        version -> BigInt,
    }
}

diesel::table! {
    /// 访问日志: append-only.
    access_events (id) {
        id -> BigInt,
        event_time -> Timestamptz,
        principal -> Text,
        method -> Text,
        resource -> Text,
        region_code -> Nullable<Text>,
        outcome -> SmallInt,
        code -> Text,
        permission -> Text,
        more_ids -> Nullable<Array<BigInt>>,
        more_times -> Nullable<Array<Timestamptz>>,
        more_resources -> Nullable<Array<Text>>,
        more_regions -> Nullable<Array<Nullable<Text>>>,
    }
}

diesel::joinable!(case_revisions -> cases (case_id));
diesel::joinable!(access_tokens -> principals (principal_id));
diesel::joinable!(grants -> principals (principal_id));

diesel::allow_tables_to_appear_in_same_query!(
    regions,
    region_ancestors,
    cases,
    measures,
    resolutions,
    judicial_aid,
    case_revisions,
    releases,
    case_docs,
    principals,
    access_tokens,
    grants,
    access_version,
    access_events,
);
