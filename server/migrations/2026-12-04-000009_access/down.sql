DROP TABLE access_events;
DROP TABLE access_version;
DROP TABLE grants;
DROP TABLE access_tokens;
DROP TABLE principals;
