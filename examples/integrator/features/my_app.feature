Feature: My app uses the right finAPI client for each call

  @rule-app-client-services
  Scenario: my app signs users up with the app client
    Given my app talks to the mock
    When my app signs up "dora"
    Then my app called "createUser" only with the app client
    And my app never sent the admin token to a user service

  @rule-intruder-admin
  Scenario: the journal catches the admin token sent to a user service
    Given my app talks to the mock
    When my app reads accounts with the admin token
    Then the journal names "GET /api/v2/accounts" as an admin token on a user service

  @rule-intruder-admin @rule-shared-user-base
  Scenario: the finAPI behaviour my app relies on (the crate's own steps)
    Given a verified user "zoe" created through the second app client
    When the admin client looks up "zoe" in the user list
    Then the answer lists "zoe"
    And "zoe" can log in through the app client
    And "zoe" cannot log in through the admin client
