#!/usr/bin/env bash
# Compose's Kafka: on the first start of an empty volume, formats the storage with the SCRAM
# accounts in docker/kafka/accounts (written from the catalog by `npm run brokers:accounts`), then
# hands over to the image's own start (/etc/kafka/docker/run), which configures the broker from
# the KAFKA_* variables and finds the storage formatted.
#
# KRaft keeps SCRAM accounts in the cluster's metadata and takes them when the storage is
# formatted (kafka-storage format --add-scram, KIP-900). So a volume formatted with other accounts
# than the file holds (an account added to the catalog since, or none at all) cannot be started
# as it is: this says so and stops. `docker compose down -v` and up again formats it anew (its
# topics are dropped).
set -euo pipefail

accounts=/boxoffice/accounts
stamp="${KAFKA_LOG_DIRS}/boxoffice-accounts"

if [[ -f "${KAFKA_LOG_DIRS}/meta.properties" ]]; then
  if ! cmp -s "${accounts}" "${stamp}"; then
    echo "kafka: the volume was formatted with other accounts than ${accounts} holds; run 'docker compose down -v' and up again (its topics are dropped)" >&2
    exit 1
  fi
else
  scram=()
  while IFS= read -r account; do scram+=(--add-scram "${account}"); done < "${accounts}"
  # Formatting reads only who the node is and where its log goes; the rest comes at start.
  cat > /tmp/format.properties <<PROPERTIES
process.roles=${KAFKA_PROCESS_ROLES}
node.id=${KAFKA_NODE_ID}
controller.quorum.voters=${KAFKA_CONTROLLER_QUORUM_VOTERS}
controller.listener.names=CONTROLLER
listeners=CONTROLLER://:9093,INTERNAL://:29092
listener.security.protocol.map=CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT
inter.broker.listener.name=INTERNAL
log.dirs=${KAFKA_LOG_DIRS}
PROPERTIES
  /opt/kafka/bin/kafka-storage.sh format --cluster-id "${CLUSTER_ID}" --config /tmp/format.properties "${scram[@]}"
  cp "${accounts}" "${stamp}"
fi

exec /etc/kafka/docker/run
