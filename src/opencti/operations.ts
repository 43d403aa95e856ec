/**
 * Every GraphQL document the connector sends to OpenCTI. Argument names and selection sets follow
 * pycti 6.8.10 so the platform sees the same calls as from a Python connector; each operation is
 * named, because OpenCTI logs and request matchers key on the name.
 * tests/opencti validates each one against the OpenCTI 6.8 and 7.x schemas.
 */

export const HEALTH_CHECK = /* GraphQL */ `
  query HealthCheck {
    about {
      version
    }
  }
`;

/**
 * The input fields the platform's registration takes, by introspection, as pycti 7 asks: 7.x
 * platforms added `version` and `slug`, which 6.8 and early 7.x refuse as unknown fields.
 */
export const REGISTER_CONNECTOR_INPUT_FIELDS = /* GraphQL */ `
  query RegisterConnectorInputFields {
    __type(name: "RegisterConnectorInput") {
      inputFields {
        name
      }
    }
  }
`;

/** `config.s3` is deliberately absent: 6.x platforms lack it and reject the whole query. */
export const REGISTER_CONNECTOR = /* GraphQL */ `
  mutation RegisterConnector($input: RegisterConnectorInput) {
    registerConnector(input: $input) {
      id
      connector_state
      config {
        connection {
          host
          vhost
          use_ssl
          port
          user
          pass
        }
        listen
        listen_routing
        listen_exchange
        push
        push_routing
        push_exchange
      }
      connector_user_id
    }
  }
`;

export const PING_CONNECTOR = /* GraphQL */ `
  mutation PingConnector($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput) {
    pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) {
      id
      connector_state
      connector_info {
        run_and_terminate
        buffering
        queue_threshold
        queue_messages_size
        next_run_datetime
        last_run_datetime
      }
    }
  }
`;

export const CONNECTOR_QUEUE_DETAILS = /* GraphQL */ `
  query ConnectorQueueDetails($id: String!) {
    connector(id: $id) {
      id
      connector_queue_details {
        messages_number
        messages_size
      }
    }
  }
`;

export const WORK_ADD = /* GraphQL */ `
  mutation WorkAdd($connectorId: String!, $friendlyName: String) {
    workAdd(connectorId: $connectorId, friendlyName: $friendlyName) {
      id
    }
  }
`;

export const WORK_ADD_EXPECTATIONS = /* GraphQL */ `
  mutation WorkAddExpectations($id: ID!, $expectations: Int) {
    workEdit(id: $id) {
      addExpectations(expectations: $expectations)
    }
  }
`;

export const WORK_TO_PROCESSED = /* GraphQL */ `
  mutation WorkToProcessed($id: ID!, $message: String, $inError: Boolean) {
    workEdit(id: $id) {
      toProcessed(message: $message, inError: $inError)
    }
  }
`;

export const STIX_BUNDLE_PUSH = /* GraphQL */ `
  mutation StixBundlePush($connectorId: String!, $bundle: String!, $work_id: String) {
    stixBundlePush(connectorId: $connectorId, bundle: $bundle, work_id: $work_id)
  }
`;

/**
 * Which of a batch's indicators OpenCTI holds. The `ids` filter key matches an id against the
 * internal id, the standard id and the other STIX ids the platform keeps for an object.
 */
export const INDICATORS_HELD = /* GraphQL */ `
  query IndicatorsHeld($filters: FilterGroup, $first: Int) {
    indicators(filters: $filters, first: $first) {
      edges {
        node {
          standard_id
          x_opencti_stix_ids
        }
      }
    }
  }
`;

export const ALL_OPERATIONS: readonly string[] = [
  HEALTH_CHECK,
  REGISTER_CONNECTOR_INPUT_FIELDS,
  REGISTER_CONNECTOR,
  PING_CONNECTOR,
  CONNECTOR_QUEUE_DETAILS,
  WORK_ADD,
  WORK_ADD_EXPECTATIONS,
  WORK_TO_PROCESSED,
  STIX_BUNDLE_PUSH,
  INDICATORS_HELD,
];
