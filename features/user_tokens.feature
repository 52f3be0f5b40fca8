# What a user's token reaches, from each operation's description of the token it needs.
Feature: User tokens
  A user's token reaches only that user's own data, and no client or admin service.

  @rule-user-scope
  Scenario: a user reaches every user service
    Then every operation allowed to the user is allowed

  @rule-own-data-only
  Scenario: a user reaches no other user's data
    Then every operation hidden from another user is hidden

  @rule-user-scope
  Scenario Outline: a user token reaches no <section> service
    Then every operation of section "<section>" is denied to the user

    Examples:
      | section                 |
      | Mandator Administration |
      | TPP Certificates        |
      | TPP Credentials         |
      | Client Configuration    |

  @rule-user-scope
  Scenario: a user token reaches no client service
    Then every operation denied to the user is denied

  @rule-user-scope
  Scenario: a client token stands in for no user token
    When the app client calls "getAuthorizedUser"
    Then the request is denied
