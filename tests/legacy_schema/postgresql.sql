-- What `metadata.create_all` in data_sources/schema.py created on postgresql before
-- gridwatch used Alembic (commit edfecbf), statement by statement. Frozen: the
-- tests build a pre-Alembic database from it and check that `gridwatch db upgrade`
-- adopts it. Generated with CreateTable/CreateIndex for this dialect; do not edit.

CREATE TABLE case_event (
	id BIGSERIAL NOT NULL,
	case_id BIGINT NOT NULL,
	seq SMALLINT NOT NULL,
	event_type VARCHAR(16) NOT NULL,
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	state VARCHAR(16) NOT NULL,
	actor_level VARCHAR(4),
	actor_org VARCHAR(20),
	detail TEXT,
	PRIMARY KEY (id)
);

CREATE INDEX ix_event_at ON case_event (at);

CREATE UNIQUE INDEX ix_event_case ON case_event (case_id, seq);

CREATE TABLE gw_case (
	id BIGINT NOT NULL,
	case_no VARCHAR(32) NOT NULL,
	province_code VARCHAR(20) NOT NULL,
	city_code VARCHAR(20) NOT NULL,
	county_code VARCHAR(20) NOT NULL,
	township_code VARCHAR(20) NOT NULL,
	community_code VARCHAR(20) NOT NULL,
	grid_code VARCHAR(20) NOT NULL,
	category VARCHAR(16) NOT NULL,
	subcategory VARCHAR(16) NOT NULL,
	source VARCHAR(16) NOT NULL,
	urgency VARCHAR(4) NOT NULL,
	state VARCHAR(16) NOT NULL,
	reported_at TIMESTAMP WITH TIME ZONE NOT NULL,
	registered_at TIMESTAMP WITH TIME ZONE,
	dispatched_at TIMESTAMP WITH TIME ZONE,
	accepted_at TIMESTAMP WITH TIME ZONE,
	handled_at TIMESTAMP WITH TIME ZONE,
	closed_at TIMESTAMP WITH TIME ZONE,
	rated_at TIMESTAMP WITH TIME ZONE,
	sign_deadline TIMESTAMP WITH TIME ZONE,
	deadline TIMESTAMP WITH TIME ZONE,
	handler_level VARCHAR(4),
	resolution_level VARCHAR(4),
	supervision_level SMALLINT NOT NULL,
	rating VARCHAR(8),
	dispatch_count SMALLINT NOT NULL,
	late_sign_count SMALLINT NOT NULL,
	return_count SMALLINT NOT NULL,
	rework_count SMALLINT NOT NULL,
	reopen_count SMALLINT NOT NULL,
	suspended SMALLINT NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_case_city_closed ON gw_case (city_code, closed_at);

CREATE INDEX ix_case_city_deadline ON gw_case (city_code, deadline);

CREATE INDEX ix_case_city_open ON gw_case (city_code, deadline) INCLUDE (county_code, state, handler_level, supervision_level) WHERE state IN ('REPORTED', 'REGISTERED', 'DISPATCHED', 'IN_PROGRESS', 'SUSPENDED', 'VERIFYING');

CREATE INDEX ix_case_city_reported ON gw_case (city_code, reported_at);

CREATE INDEX ix_case_closed ON gw_case (closed_at);

CREATE INDEX ix_case_community_reported ON gw_case (community_code, reported_at);

CREATE INDEX ix_case_county_closed ON gw_case (county_code, closed_at);

CREATE INDEX ix_case_county_deadline ON gw_case (county_code, deadline);

CREATE INDEX ix_case_county_open ON gw_case (county_code, deadline) INCLUDE (township_code, state, handler_level, supervision_level) WHERE state IN ('REPORTED', 'REGISTERED', 'DISPATCHED', 'IN_PROGRESS', 'SUSPENDED', 'VERIFYING');

CREATE INDEX ix_case_county_reported ON gw_case (county_code, reported_at);

CREATE INDEX ix_case_deadline ON gw_case (deadline);

CREATE INDEX ix_case_grid_reported ON gw_case (grid_code, reported_at);

CREATE INDEX ix_case_province_open ON gw_case (province_code, deadline) INCLUDE (city_code, state, handler_level, supervision_level) WHERE state IN ('REPORTED', 'REGISTERED', 'DISPATCHED', 'IN_PROGRESS', 'SUSPENDED', 'VERIFYING');

CREATE INDEX ix_case_reported ON gw_case (reported_at);

CREATE INDEX ix_case_township_open ON gw_case (township_code, deadline) INCLUDE (community_code, state, handler_level, supervision_level) WHERE state IN ('REPORTED', 'REGISTERED', 'DISPATCHED', 'IN_PROGRESS', 'SUSPENDED', 'VERIFYING');

CREATE INDEX ix_case_township_reported ON gw_case (township_code, reported_at);

CREATE TABLE gw_meta (
	key VARCHAR(64) NOT NULL,
	value TEXT,
	PRIMARY KEY (key)
);

CREATE TABLE region (
	code VARCHAR(20) NOT NULL,
	parent_code VARCHAR(20),
	level SMALLINT NOT NULL,
	name VARCHAR(64) NOT NULL,
	population BIGINT NOT NULL,
	lon FLOAT,
	lat FLOAT,
	boundary TEXT,
	PRIMARY KEY (code)
);

CREATE INDEX ix_region_parent_code ON region (parent_code);
