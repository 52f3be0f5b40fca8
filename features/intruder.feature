# The intruder reasoning behind two kinds of clients, from the Application management page.
Feature: What stolen credentials give an intruder
  finAPI splits the app clients from the mandator admin client so that one stolen set of
  credentials is not enough: the admin client can list user ids but cannot get a user's token,
  read a user's data or reset a password; an app client can act for users whose password it
  knows, but cannot list the users.

  @rule-intruder-admin
  Scenario: stolen admin credentials list user ids
    Given a verified user "ann" created through the app client
    When the admin client looks up "ann" in the user list
    Then the request is allowed
    And the answer lists "ann"

  @rule-intruder-admin
  Scenario: stolen admin credentials do not reveal the ids of deleted users
    Given a verified user "ann" created through the app client
    When the admin client deletes the user "ann"
    Then the request is allowed
    When the admin client lists the deleted users
    Then the answer does not show the id of "ann"

  @rule-intruder-admin @rule-user-tokens-via-app-clients
  Scenario: stolen admin credentials give no user token
    Given a verified user "ann" created through the app client
    When "ann" logs in through the admin client
    Then the request is refused

  @rule-intruder-admin
  Scenario Outline: stolen admin credentials cannot reset a password (<operation>)
    Then "<operation>" is forbidden to the admin client

    Examples:
      | operation             |
      | requestPasswordChange |
      | executePasswordChange |

  @rule-intruder-admin
  Scenario: stolen admin credentials read no user data
    Then every operation of section "Accounts" is forbidden to the admin client
    And every operation of section "Transactions" is forbidden to the admin client

  @rule-intruder-app-client
  Scenario Outline: stolen credentials of <client> cannot list users
    When <client> calls "getUserList"
    Then the request is denied
    And "getUserList" is forbidden to <client>

    Examples:
      | client                |
      | the app client        |
      | the second app client |
