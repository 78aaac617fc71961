-- The region tree (行政区划) and the case records of administrative procuratorial supervision.

CREATE TABLE regions (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9]{6}$'),
    parent_code text REFERENCES regions (code),
    -- 1 national, 2 province, 3 prefecture, 4 county (procura.v1.RegionLevel)
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    name        text NOT NULL,
    name_en     text NOT NULL DEFAULT ''
);
CREATE INDEX regions_parent_code ON regions (parent_code, code);
CREATE INDEX regions_level ON regions (level, code);

-- Closure of the tree: one row per (region, ancestor-or-self). A subtree is
-- `WHERE ancestor_code = $1`; the region's ancestor at a level is one lookup.
CREATE TABLE region_ancestors (
    ancestor_code  text NOT NULL REFERENCES regions (code),
    code           text NOT NULL REFERENCES regions (code),
    ancestor_level smallint NOT NULL,
    PRIMARY KEY (ancestor_code, code)
);
CREATE UNIQUE INDEX region_ancestors_by_level ON region_ancestors (code, ancestor_level);

-- 行政检察监督案件. Enum columns hold the procura.v1 enum numbers.
CREATE TABLE cases (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region_code        text NOT NULL REFERENCES regions (code),
    case_number        text NOT NULL CHECK (length(case_number) BETWEEN 1 AND 100),
    case_type          smallint NOT NULL CHECK (case_type BETWEEN 1 AND 4),
    status             smallint NOT NULL CHECK (status BETWEEN 1 AND 3),
    applicant_type     smallint NOT NULL CHECK (applicant_type BETWEEN 1 AND 3),
    sector             smallint NOT NULL CHECK (sector BETWEEN 1 AND 7),
    accepted_on        date NOT NULL,
    concluded_on       date CHECK (concluded_on >= accepted_on),
    leader_handled     boolean NOT NULL DEFAULT false,
    public_hearing     boolean NOT NULL DEFAULT false,
    private_enterprise boolean NOT NULL DEFAULT false,
    spp_listed_batch   integer NOT NULL DEFAULT 0 CHECK (spp_listed_batch >= 0),
    typical            boolean NOT NULL DEFAULT false,
    summary            text NOT NULL DEFAULT '',
    request_id         uuid UNIQUE,
    -- who stored the case and how (revision 1 of its history)
    created_by         text NOT NULL DEFAULT 'anonymous',
    create_reason      text NOT NULL DEFAULT 'created',
    version            integer NOT NULL DEFAULT 1,
    create_time        timestamptz NOT NULL DEFAULT now(),
    update_time        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cases_region_case_number UNIQUE (region_code, case_number),
    CONSTRAINT cases_concluded_when_concluded CHECK ((status = 2) = (concluded_on IS NOT NULL) OR status = 3)
);
CREATE INDEX cases_accepted_on ON cases (accepted_on, id);
CREATE INDEX cases_concluded_on ON cases (concluded_on) WHERE concluded_on IS NOT NULL;

-- 监督措施
CREATE TABLE measures (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id        bigint NOT NULL REFERENCES cases (id),
    kind           smallint NOT NULL CHECK (kind BETWEEN 1 AND 6),
    issued_on      date NOT NULL,
    addressee_type smallint NOT NULL CHECK (addressee_type BETWEEN 1 AND 3),
    addressee      text NOT NULL,
    adoption       smallint NOT NULL CHECK (adoption BETWEEN 1 AND 3),
    answered_on    date CHECK (answered_on >= issued_on),
    request_id     uuid UNIQUE,
    create_time    timestamptz NOT NULL DEFAULT now(),
    update_time    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX measures_case_id ON measures (case_id, id);
CREATE INDEX measures_issued_on ON measures (issued_on);

-- 行政争议实质性化解: at most one per case.
CREATE TABLE resolutions (
    case_id     bigint PRIMARY KEY REFERENCES cases (id),
    method      smallint NOT NULL CHECK (method BETWEEN 1 AND 5),
    resolved_on date NOT NULL,
    note        text NOT NULL DEFAULT '',
    request_id  uuid UNIQUE,
    create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resolutions_resolved_on ON resolutions (resolved_on);

-- 司法救助: amounts in integer fen.
CREATE TABLE judicial_aid (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES cases (id),
    granted_on  date NOT NULL,
    amount_fen  bigint NOT NULL CHECK (amount_fen > 0),
    recipient   text NOT NULL DEFAULT '',
    request_id  uuid UNIQUE,
    create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX judicial_aid_case_id ON judicial_aid (case_id, id);
CREATE INDEX judicial_aid_granted_on ON judicial_aid (granted_on);
