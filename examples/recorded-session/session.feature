# Recorded by `finapi-conformance proxy --record`: the role boundaries this session's
# traffic and replays established, one scenario per operation and rule. Run it on the
# recorded world: `finapi-conformance features DIR --world DIR/world.toml`; against
# the recorded target (a regression check): `finapi-conformance features DIR --base-url URL`.
# Scenarios tagged @session-violation state a rule the session saw broken: they fail
# until the target holds it.
Feature: The boundaries the recorded session showed (v2)

  @rule-user-scope
  Scenario: createForBankConnectionImport, user-scope: as the session showed
    Then "createForBankConnectionImport" is allowed to the user

  @rule-app-client-services
  Scenario: createUser, app-client-services: as the session showed
    Then "createUser" is allowed to the app client

  @rule-token-required
  Scenario: getAccount, token-required: as the session showed
    Then "getAccount" is unauthenticated to no-token
    And "getAccount" is unauthenticated to malformed-token
    And "getAccount" is unauthenticated to revoked-token

  @rule-user-scope
  Scenario: getAccount, user-scope: as the session showed
    Then "getAccount" is forbidden to the app client
    And "getAccount" is forbidden to the second app client
    And "getAccount" is forbidden to another mandator's app client
    And "getAccount" is allowed to the user

  @rule-own-data-only
  Scenario: getAccount, own-data-only: as the session showed
    Then "getAccount" is hidden to another user

  @rule-intruder-admin
  Scenario: getAccount, intruder-admin: as the session showed
    Then "getAccount" is forbidden to the admin client

  @rule-token-required
  Scenario: getAllBankConnections, token-required: as the session showed
    Then "getAllBankConnections" is unauthenticated to no-token
    And "getAllBankConnections" is unauthenticated to malformed-token
    And "getAllBankConnections" is unauthenticated to revoked-token

  @rule-user-scope
  Scenario: getAllBankConnections, user-scope: as the session showed
    Then "getAllBankConnections" is forbidden to the app client
    And "getAllBankConnections" is forbidden to the second app client
    And "getAllBankConnections" is forbidden to another mandator's app client
    And "getAllBankConnections" is allowed to the user

  @rule-intruder-admin
  Scenario: getAllBankConnections, intruder-admin: as the session showed
    Then "getAllBankConnections" is forbidden to the admin client

  @rule-token-required
  Scenario: getAndSearchAllAccounts, token-required: as the session showed
    Then "getAndSearchAllAccounts" is unauthenticated to no-token
    And "getAndSearchAllAccounts" is unauthenticated to malformed-token
    And "getAndSearchAllAccounts" is unauthenticated to revoked-token

  @rule-user-scope
  Scenario: getAndSearchAllAccounts, user-scope: as the session showed
    Then "getAndSearchAllAccounts" is forbidden to the app client
    And "getAndSearchAllAccounts" is forbidden to the second app client
    And "getAndSearchAllAccounts" is forbidden to another mandator's app client
    And "getAndSearchAllAccounts" is allowed to the user

  @rule-intruder-admin
  Scenario: getAndSearchAllAccounts, intruder-admin: as the session showed
    Then "getAndSearchAllAccounts" is forbidden to the admin client

  @rule-token-required
  Scenario: getAndSearchAllTransactions, token-required: as the session showed
    Then "getAndSearchAllTransactions" is unauthenticated to no-token
    And "getAndSearchAllTransactions" is unauthenticated to malformed-token
    And "getAndSearchAllTransactions" is unauthenticated to revoked-token

  @rule-user-scope
  Scenario: getAndSearchAllTransactions, user-scope: as the session showed
    Then "getAndSearchAllTransactions" is forbidden to the app client
    And "getAndSearchAllTransactions" is forbidden to the second app client
    And "getAndSearchAllTransactions" is forbidden to another mandator's app client
    And "getAndSearchAllTransactions" is allowed to the user

  @rule-intruder-admin
  Scenario: getAndSearchAllTransactions, intruder-admin: as the session showed
    Then "getAndSearchAllTransactions" is forbidden to the admin client

  @rule-token-required
  Scenario: getAuthorizedUser, token-required: as the session showed
    Then "getAuthorizedUser" is unauthenticated to no-token
    And "getAuthorizedUser" is unauthenticated to malformed-token
    And "getAuthorizedUser" is unauthenticated to revoked-token

  @rule-user-scope
  Scenario: getAuthorizedUser, user-scope: as the session showed
    Then "getAuthorizedUser" is forbidden to the app client
    And "getAuthorizedUser" is forbidden to the second app client
    And "getAuthorizedUser" is forbidden to another mandator's app client
    And "getAuthorizedUser" is allowed to the user

  @rule-intruder-admin
  Scenario: getAuthorizedUser, intruder-admin: as the session showed
    Then "getAuthorizedUser" is forbidden to the admin client

  @rule-token-required
  Scenario: getClientConfiguration, token-required: as the session showed
    Then "getClientConfiguration" is unauthenticated to no-token
    And "getClientConfiguration" is unauthenticated to malformed-token
    And "getClientConfiguration" is unauthenticated to revoked-token

  @rule-app-client-services
  Scenario: getClientConfiguration, app-client-services: as the session showed
    Then "getClientConfiguration" is allowed to the app client
    And "getClientConfiguration" is allowed to the second app client
    And "getClientConfiguration" is allowed to another mandator's app client

  @rule-admin-sections-only
  Scenario: getClientConfiguration, admin-sections-only: as the session showed
    Then "getClientConfiguration" is forbidden to the admin client

  @rule-user-scope
  Scenario: getClientConfiguration, user-scope: as the session showed
    Then "getClientConfiguration" is forbidden to the user

  @rule-admin-sections-only
  Scenario: getToken.client_credentials, admin-sections-only: as the session showed
    Then "getToken.client_credentials" is allowed to the app client
    And "getToken.client_credentials" is allowed to the admin client

  @rule-shared-user-base
  Scenario: getToken.client_credentials, shared-user-base: as the session showed
    Then "getToken.client_credentials" is allowed to the second app client

  @rule-user-tokens-via-app-clients
  Scenario: getToken.password, user-tokens-via-app-clients: as the session showed
    Given a verified user "alice" created through the app client
    Then "alice" can log in through the app client
    And "alice" cannot log in through the admin client

  @rule-shared-user-base
  Scenario: getToken.password, shared-user-base: as the session showed
    Given a verified user "alice" created through the app client
    Then "alice" can log in through the second app client

  @rule-mandator-isolation
  Scenario: getToken.password, mandator-isolation: as the session showed
    Given a verified user "alice" created through the app client
    Then "alice" cannot log in through another mandator's app client

  @rule-user-tokens-via-app-clients
  Scenario: getToken.refresh_token, user-tokens-via-app-clients: as the session showed
    Then "getToken.refresh_token" is allowed to the app client
    And "getToken.refresh_token" is forbidden to the admin client

  @rule-mandator-isolation
  Scenario: getToken.refresh_token, mandator-isolation: as the session showed
    Then "getToken.refresh_token" is hidden to another mandator's app client

  @rule-token-required
  Scenario: getUserList, token-required: as the session showed
    Then "getUserList" is unauthenticated to no-token
    And "getUserList" is unauthenticated to malformed-token
    And "getUserList" is unauthenticated to revoked-token

  @rule-admin-sections-only
  Scenario: getUserList, admin-sections-only: as the session showed
    Then "getUserList" is allowed to the admin client

  @rule-user-scope
  Scenario: getUserList, user-scope: as the session showed
    Then "getUserList" is forbidden to the user

  @rule-intruder-app-client
  Scenario: getUserList, intruder-app-client: as the session showed
    Then "getUserList" is forbidden to the app client
    And "getUserList" is forbidden to the second app client
    And "getUserList" is forbidden to another mandator's app client

  @rule-token-required
  Scenario: getVerificationStatus, token-required: as the session showed
    Then "getVerificationStatus" is unauthenticated to no-token
    And "getVerificationStatus" is unauthenticated to malformed-token
    And "getVerificationStatus" is unauthenticated to revoked-token

  @rule-app-client-services
  Scenario: getVerificationStatus, app-client-services: as the session showed
    Then "getVerificationStatus" is allowed to the app client

  @rule-admin-sections-only
  Scenario: getVerificationStatus, admin-sections-only: as the session showed
    Then "getVerificationStatus" is forbidden to the admin client

  @rule-user-scope
  Scenario: getVerificationStatus, user-scope: as the session showed
    Then "getVerificationStatus" is forbidden to the user

  @rule-shared-user-base
  Scenario: getVerificationStatus, shared-user-base: as the session showed
    Then "getVerificationStatus" is allowed to the second app client

  @rule-mandator-isolation
  Scenario: getVerificationStatus, mandator-isolation: as the session showed
    Then "getVerificationStatus" is hidden to another mandator's app client

  @rule-token-required
  Scenario: getWebForm, token-required: as the session showed
    Then "getWebForm" is unauthenticated to no-token
    And "getWebForm" is unauthenticated to malformed-token

  @rule-user-scope
  Scenario: getWebForm, user-scope: as the session showed
    Then "getWebForm" is forbidden to the app client
    And "getWebForm" is forbidden to the second app client
    And "getWebForm" is forbidden to another mandator's app client
    And "getWebForm" is allowed to the user

  @rule-intruder-admin
  Scenario: getWebForm, intruder-admin: as the session showed
    Then "getWebForm" is forbidden to the admin client

  @rule-token-reuse
  Scenario: lifecycle:token-reuse, token-reuse: as the session showed
    Given the second app client has a token
    Then the second app client gets the same token again

  @rule-app-client-services
  Scenario: revokeToken, app-client-services: as the session showed
    Then "revokeToken" is allowed to the second app client

  @rule-app-client-services
  Scenario: verifyUser, app-client-services: as the session showed
    Then "verifyUser" is allowed to the app client

  @rule-error-shape
  Scenario: refusals, error-shape: their status and body as documented, as the session showed
    When the app client calls "getAccount"
    Then the answer is the refusal "getAccount" documents for a wrong role
    When no-token calls "getAccount"
    Then the answer is the refusal "getAccount" documents for a dead token
