# What an app client may do, from finAPI's Application management page.
Feature: App clients
  An app client may call every client service except Mandator Administration and the TPP
  sections. It creates and verifies users, deletes users that are not yet verified, changes
  users' passwords, reads banks and its own client configuration, and it is the only kind of
  client that gets, refreshes and revokes user tokens.

  @rule-app-client-services
  Scenario: an app client may call every service the role model gives it
    Then every operation allowed to the app client is allowed

  @rule-app-client-services
  Scenario Outline: an app client is kept out of <section>
    Then every operation of section "<section>" is denied to the app client

    Examples:
      | section                 |
      | Mandator Administration |
      | TPP Certificates        |
      | TPP Credentials         |

  @rule-app-client-services
  Scenario Outline: an app client reads <section>
    Then every operation of section "<section>" is allowed to the app client

    Examples:
      | section              |
      | Banks                |
      | Client Configuration |

  @rule-app-client-services @rule-verification
  Scenario: an app client creates and verifies a user
    Given an unverified user "uma" created through the app client
    Then "uma" cannot log in through the app client
    When the app client verifies "uma"
    Then the request is allowed
    And "uma" can log in through the app client

  @rule-app-client-services
  Scenario: an app client deletes a user that is not yet verified
    Given an unverified user "una" created through the app client
    When the app client deletes the unverified user "una"
    Then the request is allowed
    When the app client asks for the verification status of "una"
    Then the answer has status 404

  @rule-app-client-services
  Scenario: an app client cannot delete a verified user as unverified
    Given a verified user "vera" created through the app client
    When the app client deletes the unverified user "vera"
    Then the answer has status 422
    And "vera" can log in through the app client

  @mock-only @rule-app-client-services
  Scenario: an app client changes a user's password
    Given a verified user "ann" created through the app client
    When the app client changes the password of "ann"
    Then the request is allowed
    And "ann" can log in through the app client

  @mutates-shared @rule-app-client-services
  Scenario: each app client has a client configuration of its own
    When the app client sets "applicationName" of its client configuration to "Budget book"
    Then the request is allowed
    And the client configuration of the app client has "applicationName" set to "Budget book"
    And the client configuration of the second app client does not have "applicationName" set to "Budget book"

  @rule-user-tokens-via-app-clients
  Scenario Outline: only app clients use the <grant> grant
    Then "getToken.<grant>" is allowed to the app client
    And "getToken.<grant>" is allowed to the second app client
    And "getToken.<grant>" is forbidden to the admin client

    Examples:
      | grant         |
      | password      |
      | refresh_token |

  @rule-user-tokens-via-app-clients
  Scenario: an app client gets, refreshes and revokes a user's token
    Given a verified user "ann" created through the app client
    When "ann" logs in through the app client
    Then the request is allowed
    When the app client refreshes "ann"'s token
    Then the request is allowed
    And "ann"'s access token works
    When the app client revokes "ann"'s access token without a hint
    Then the request is allowed
    And "ann"'s access token is rejected
