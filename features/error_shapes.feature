# The error bodies of the API reference: BadCredentialsError for 401, ErrorMessage otherwise.
Feature: Error shapes
  A 401 carries {error, error_description}; a wrong role gets 403 with finAPI's ErrorMessage,
  whose first error has the code UNAUTHORIZED_ACCESS.

  @rule-error-shape
  Scenario Outline: <principal> calling <operation> gets a 401 body
    When <principal> calls "<operation>"
    Then the answer has status 401
    And the answer body has "error" and "error_description"

    Examples:
      | principal       | operation            |
      | no-token        | getAuthorizedUser    |
      | malformed-token | getAndSearchAllBanks |
      | revoked-token   | getAuthorizedUser    |

  @rule-error-shape
  Scenario Outline: <principal> calling <operation> gets a 403 ErrorMessage
    When <principal> calls "<operation>"
    Then the answer has status 403
    And the answer body is an ErrorMessage with code "UNAUTHORIZED_ACCESS"

    Examples:
      | principal    | operation            |
      | app-client   | getUserList          |
      | admin-client | getAndSearchAllBanks |
      | user         | createUser           |
      | app-client   | getAuthorizedUser    |
