# A mandator is bound to one API version (Upgrading to a new API version; V2 migration guide).
Feature: API version binding

  @rule-api-version-binding
  Scenario: the mandator under test is served by its own API version only
    When the app client calls "getAndSearchAllBanks" of its own API version
    Then the request is allowed
    When the app client calls "getAndSearchAllBanks" of the other API version
    Then the answer has status 403
    And the answer body is an ErrorMessage

  @mock-only @rule-api-version-binding
  Scenario Outline: a mandator bound to <bound> is refused <operation> on <other> paths
    Given the mandator is bound to API <bound>
    When the app client calls "<operation>" of API <other>
    Then the answer has status 403
    When the app client calls "<operation>" of API <bound>
    Then the request is allowed

    Examples:
      | bound | other | operation              |
      | V2    | V1    | getAndSearchAllBanks   |
      | V2    | V1    | getClientConfiguration |
      | V1    | V2    | getAndSearchAllBanks   |
      | V1    | V2    | getClientConfiguration |
