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

diesel::joinable!(case_revisions -> cases (case_id));

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
);
