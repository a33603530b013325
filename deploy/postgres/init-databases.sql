-- One database per service (no service reads another's tables). The postgres image runs this once, when its
-- data volume is empty; each service then creates its own tables with its Alembic migrations at start.
CREATE DATABASE gateway;
CREATE DATABASE catalog;
CREATE DATABASE wallet;
CREATE DATABASE redemption;
CREATE DATABASE fulfillment;
CREATE DATABASE events;
