-- A commit's notification names the transports its messages are for, so that the relay wakes a
-- loop of those transports only: a commit that wrote a RabbitMQ command no longer makes the Kafka
-- loop claim nothing, in a transaction of its own. PostgreSQL sends one notification per distinct
-- payload per transaction, at its commit. Each service's migration 20261206000000_outbox_notify_transport
-- is a copy.
CREATE OR REPLACE FUNCTION outbox_message_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  transport TEXT;
BEGIN
  FOR transport IN SELECT DISTINCT destination->>'transport' FROM inserted LOOP
    PERFORM pg_notify('outbox_message', transport);
  END LOOP;
  RETURN NULL;
END;
$$;
DROP TRIGGER outbox_message_notify ON outbox_message;
CREATE TRIGGER outbox_message_notify AFTER INSERT ON outbox_message
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_message_notify();
