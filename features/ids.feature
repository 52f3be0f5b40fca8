# The ids a request carries outside its path: list filters and body fields name resources too.
Feature: Ids in queries and bodies
  A user's token reaches only that user's own data, whichever place of the request names it:
  the path, a list's id filter ("?accountIds=") or a field of the body ("bankConnectionId").
  Another user, or a user of another mandator, who names a user's resource there finds it
  absent: a list without the user's items, or the answer an id that exists nowhere gets.

  @rule-own-data-only
  Scenario: another user finds nothing of a user's by naming its ids in a query or a body
    Then every id in a query or a body is hidden from another user

  @rule-mandator-isolation
  Scenario: another mandator's user finds nothing of a user's by naming its ids
    Then every id in a query or a body is hidden from another mandator's user

  @rule-own-data-only @mock-only
  Scenario: bob finds none of alice's transactions by naming her account
    Given a verified user "alice" created through the app client
    And "alice" has logged in through the app client
    And "alice" has imported finAPI's test bank
    And a verified user "bob" created through the app client
    And "bob" has logged in through the app client
    Then "bob" finds none of "alice"'s transactions by naming her account
    And "bob" gets nothing of "alice"'s through "getAndSearchAllAccounts?bankConnectionIds"

  @rule-own-data-only @mock-only
  Scenario: bob can neither update alice's bank connection nor pay from her account
    Given the mandator is bound to API V2
    And a verified user "alice" created through the app client
    And "alice" has logged in through the app client
    And "alice" has imported finAPI's test bank
    And a verified user "bob" created through the second app client
    And "bob" has logged in through the second app client
    Then "bob" cannot update "alice"'s bank connection in the background
    And "bob" cannot pay from "alice"'s account through a web form

  @rule-mandator-isolation @mock-only
  Scenario: a user of another mandator cannot update alice's bank connection in the background
    Given the mandator is bound to API V2
    And a verified user "alice" created through the app client
    And "alice" has logged in through the app client
    And "alice" has imported finAPI's test bank
    And a verified user "xavier" created through another mandator's app client
    And "xavier" has logged in through another mandator's app client
    Then "xavier" cannot update "alice"'s bank connection in the background
