# What the mandator admin client may do, from finAPI's Application management page.
Feature: The mandator admin client
  The mandator admin client may call Mandator Administration, TPP Certificates and TPP
  Credentials (and, in Web Form 2.0, Profiles and Translations), and get or revoke a token for
  itself. It may call no other client service, gets, refreshes and revokes no user token, and
  reaches no user's data.

  @rule-admin-sections-only
  Scenario Outline: the admin client may call <section>
    Then every operation of section "<section>" is allowed to the admin client

    Examples:
      | section                 |
      | Mandator Administration |
      | TPP Certificates        |
      | TPP Credentials         |

  @rule-admin-sections-only
  Scenario: the admin client gets a token for itself
    When the admin client asks for a token
    Then the request is allowed
    And "getToken.client_credentials" is allowed to the admin client
    And "revokeToken" is allowed to the admin client

  @rule-admin-sections-only
  Scenario: the admin client may call no other client service
    Then every operation outside these sections is denied to the admin client:
      | section                 |
      | Mandator Administration |
      | TPP Certificates        |
      | TPP Credentials         |
      | Authorization           |
      | Profiles                |
      | Translations            |

  @rule-admin-sections-only
  Scenario Outline: the admin client is kept out of <section>
    Then every operation of section "<section>" is denied to the admin client

    Examples:
      | section              |
      | Users                |
      | Banks                |
      | Client Configuration |

  @rule-user-tokens-via-app-clients
  Scenario: the admin client gets no user token
    Given a verified user "ann" created through the app client
    When "ann" logs in through the admin client
    Then the request is refused
    And "getToken.password" is forbidden to the admin client

  @rule-user-tokens-via-app-clients
  Scenario: the admin client refreshes no user token
    Given a verified user "ann" created through the app client
    And "ann" has logged in through the app client
    When the admin client refreshes "ann"'s token
    Then the request is refused
    And "getToken.refresh_token" is forbidden to the admin client

  @rule-user-tokens-via-app-clients
  Scenario: the admin client revokes no user token
    Given a verified user "ann" created through the app client
    And "ann" has logged in through the app client
    When the admin client revokes "ann"'s access token without a hint
    Then "ann"'s access token works

  @rule-admin-sections-only @rule-intruder-admin
  Scenario: the admin client is denied everything the role model denies it
    Then every operation denied to the admin client is denied
