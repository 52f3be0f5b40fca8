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

  # checkCategorization documents 401 but no 403, revokeToken 403 but no 401: there a refusal
  # takes the status the operation documents (a wrong role on checkCategorization gets 401, a
  # missing token on revokeToken 403). `--reading general-refusal-statuses=true` expects 401
  # and 403 as everywhere else.
  @rule-error-shape
  Scenario Outline: <principal> calling <operation> gets the refusal it documents
    When <principal> calls "<operation>"
    Then the answer is the refusal "<operation>" documents for <what>

    Examples:
      | principal       | operation           | what         |
      | app-client      | checkCategorization | a wrong role |
      | admin-client    | checkCategorization | a wrong role |
      | no-token        | revokeToken         | a dead token |
      | malformed-token | revokeToken         | a dead token |
