#!/bin/sh
# Run once by the postgres image when it makes its data directory (/docker-entrypoint-initdb.d): the
# schema's owner and the gateway's role, neither a superuser, and ftgate's database owned by the first.
# `ftgate init` (and later `ftgate db upgrade`) makes the tables as the owner and grants the gateway's
# role reads and writes on them, but only SELECT and INSERT on the audit log's; `FTGATE_MODE=production`
# refuses to serve as a role that could do more.
# Passwords come from the environment (docker/.env), never from this file; psql quotes them (:'...').
set -eu
: "${FTGATE_OWNER_PASSWORD:?set FTGATE_OWNER_PASSWORD}" "${FTGATE_APP_PASSWORD:?set FTGATE_APP_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v db="${FTGATE_DB:-ftgate}" -v owner="${FTGATE_OWNER_ROLE:-ftgate_owner}" \
  -v app="${FTGATE_APP_ROLE:-ftgate_app}" \
  -v owner_password="$FTGATE_OWNER_PASSWORD" -v app_password="$FTGATE_APP_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
CREATE DATABASE :"db" OWNER :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
SQL
