-- docker-compose.yml and deploy/overlays/dev: run once by the postgres image on an empty data directory.
-- The same roles as scripts/infra.mjs creates, with passwords because the image authenticates TCP clients.
CREATE ROLE rollgate_owner LOGIN NOSUPERUSER CREATEDB NOCREATEROLE PASSWORD 'rollgate_owner';
CREATE ROLE rollgate_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'rollgate_app';
CREATE DATABASE rollgate_flags OWNER rollgate_owner;
CREATE DATABASE rollgate_canary OWNER rollgate_owner;
CREATE DATABASE rollgate_gateway OWNER rollgate_owner;
CREATE DATABASE rollgate_rollback OWNER rollgate_owner;
