-- Run once by the postgres:16 image on an empty data volume (docker-entrypoint-initdb.d).
-- One database per Clearway service that has_database in clearway/registry.py, all owned by
-- the application role the image creates from POSTGRES_USER.
CREATE DATABASE customs OWNER clearway;
CREATE DATABASE risk OWNER clearway;
CREATE DATABASE gateway OWNER clearway;
