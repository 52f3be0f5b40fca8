# How tokens live and die: getToken, revokeToken, changeClientCredentials,
# executePasswordChange and the client configuration.
Feature: The token lifecycle

  @rule-token-reuse
  Scenario: the same credentials get the same token while it is unexpired
    Given the app client has a token
    Then the app client gets the same token again

  @mock-only @rule-token-expiry
  Scenario: a user token dies when its validity period ends
    Given a verified user "ann" created through the app client
    And "ann" has logged in through the app client
    When the validity period of user tokens passes
    Then "ann"'s access token is rejected

  @mock-only @rule-token-expiry
  Scenario: a client token dies when its validity period ends
    Given the app client has a token
    When the validity period of client tokens passes
    Then the token of the app client is rejected

  @mock-only @rule-token-expiry
  Scenario: every operation refuses an expired token
    Then every operation denied to expired-token is denied

  @rule-token-required
  Scenario Outline: every operation refuses <principal>
    Then every operation denied to <principal> is denied

    Examples:
      | principal       |
      | no-token        |
      | malformed-token |
      | revoked-token   |

  @rule-user-tokens-via-app-clients
  Scenario: a refresh gives the user a working token
    Given a verified user "ann" created through the app client
    And "ann" has logged in through the app client
    When the app client refreshes "ann"'s token
    Then the request is allowed
    And "ann"'s access token works

  @rule-revoke-semantics
  Scenario: revoking with hint access_token revokes only that access token
    Given a verified user "ann" created through the app client
    And "ann" has logged in through the app client
    When the app client revokes "ann"'s access token with hint "access_token"
    Then the request is allowed
    And "ann"'s access token is rejected
    And "ann"'s refresh token works

  @rule-revoke-semantics
  Scenario: revoking with hint refresh_token revokes the refresh token and its access tokens
    Given a verified user "ann" created through the app client
    And "ann" has logged in through the app client
    When the app client revokes "ann"'s refresh token with hint "refresh_token"
    Then the request is allowed
    And "ann"'s access token is rejected
    And "ann"'s refresh token is refused

  @rule-revoke-semantics
  Scenario: revoking without a hint revokes the whole grant
    Given a verified user "ann" created through the app client
    And "ann" has logged in through the app client
    When the app client revokes "ann"'s access token without a hint
    Then the request is allowed
    And "ann"'s access token is rejected
    And "ann"'s refresh token is refused

  @mutates-shared @rule-secret-rotation
  Scenario: changing a client's secret revokes that client's tokens only
    Given a verified user "ann" created through the second app client
    And "ann" has logged in through the second app client
    And the second app client has a token
    And the app client has a token
    When the admin client changes the secret of the second app client
    Then the request is allowed
    And the token of the second app client is rejected
    And the token of the app client works
    And "ann"'s access token works
    And the second app client gets a token with its new secret

  @rule-secret-rotation
  Scenario: a wrong old secret changes nothing
    Given the app client has a token
    When the admin client changes the secret of the app client with a wrong old secret
    Then the answer has status 422
    And the token of the app client works

  @mock-only @rule-password-change-revokes
  Scenario: a password change revokes the user's tokens for every client
    Given a verified user "ann" created through the app client
    And "ann" has logged in through the app client
    And "ann" has logged in through the second app client
    When the app client changes the password of "ann"
    Then the request is allowed
    And every token of "ann" is rejected
    And "ann" can log in through the second app client

  @rule-lockout
  Scenario: failed logins lock the user
    Given a verified user "ann" created through the app client
    And "ann" has logged in through the app client
    When "ann" fails to log in through the app client as often as the client configuration allows
    Then "ann" cannot log in through the app client
    And the answer has status 423
    And "ann"'s access token is rejected

  @mock-only @rule-lockout @rule-password-change-revokes
  Scenario: a password change unlocks a locked user
    Given a verified user "ann" created through the app client
    When "ann" fails to log in through the app client as often as the client configuration allows
    And the app client changes the password of "ann"
    Then the request is allowed
    And "ann" can log in through the app client

  @rule-verification
  Scenario: a user that is not verified cannot log in
    Given an unverified user "uma" created through the app client
    When "uma" logs in through the app client
    Then the answer has status 403
