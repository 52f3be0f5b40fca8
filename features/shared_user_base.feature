# One user base per mandator, shared by its app clients; nothing crosses mandators.
Feature: The shared user base
  All app clients of a mandator share one user base: a user created through one app client
  logs in through another. Users of one mandator are invisible to every other mandator.

  @rule-shared-user-base
  Scenario: a user created through app client 1 logs in through app client 2
    Given a verified user "ann" created through the app client
    Then "ann" can log in through the second app client
    When the second app client asks for the verification status of "ann"
    Then the request is allowed

  @rule-shared-user-base
  Scenario: a user created through app client 2 logs in through app client 1
    Given a verified user "bea" created through the second app client
    Then "bea" can log in through the app client

  @rule-shared-user-base
  Scenario: the second app client reaches the shared users like the first
    Then every operation of section "Users" behaves for the second app client as the role model says

  @rule-mandator-isolation
  Scenario: another mandator's app client sees none of the mandator's users
    Given a verified user "ann" created through the app client
    Then "ann" cannot log in through another mandator's app client
    When another mandator's app client asks for the verification status of "ann"
    Then the answer has status 404

  @rule-mandator-isolation
  Scenario: a user of another mandator is not in the mandator's user list
    Given a verified user "max" created through another mandator's app client
    When the admin client looks up "max" in the user list
    Then the answer lists no user

  @rule-mandator-isolation
  Scenario Outline: <principal> finds nothing of the mandator's users
    Then every operation hidden from <principal> is hidden

    Examples:
      | principal                 |
      | other-mandator-app-client |
      | other-mandator-user       |
