# Web Form 2.0: who may use web forms, tasks, profiles and translations, and a web form's life.
Feature: Web Form 2.0
  finAPI Access V2 imports bank data through Web Form 2.0, a service of its own. Every web form
  and task operation takes a user's token; profiles and translations take the mandator admin
  client's. A user sees only their own web forms.

  Background:
    Given the mandator is bound to API V2

  @rule-user-scope
  Scenario: a user reaches every web form and task operation
    Then every operation of section "Web Forms" is allowed to the user
    And every operation of section "Tasks" is allowed to the user

  @rule-admin-sections-only @rule-intruder-admin
  Scenario: the admin client creates no web forms and reads no tasks
    Then every operation of section "Web Forms" is denied to the admin client
    And every operation of section "Tasks" is denied to the admin client

  @rule-admin-sections-only
  Scenario: the admin client manages profiles and translations
    Then every operation of section "Profiles" is allowed to the admin client
    And every operation of section "Translations" is allowed to the admin client

  @rule-user-scope
  Scenario: a user edits no profiles or translations
    Then every operation of section "Profiles" is denied to the user
    And every operation of section "Translations" is denied to the user

  @rule-app-client-services
  Scenario Outline: an app client has no Web Form 2.0 service in <section>
    Then every operation of section "<section>" is denied to the app client

    Examples:
      | section      |
      | Web Forms    |
      | Tasks        |
      | Profiles     |
      | Translations |

  @rule-own-data-only
  Scenario: a user sees no other user's web forms and tasks
    Then every operation of section "Web Forms" behaves for another user as the role model says
    And every operation of section "Tasks" behaves for another user as the role model says

  @rule-own-data-only @mock-only
  Scenario: a completed import web form gives its user a bank connection
    Given a verified user "jane" created through the app client
    And "jane" has logged in through the app client
    And a verified user "joe" created through the app client
    And "joe" has logged in through the app client
    When "jane" creates a web form to import a bank connection
    Then the answer has status 201
    And the web form's status is "NOT_YET_OPENED"
    And "joe" cannot see the web form
    When the web form's page is submitted with the PIN "000000"
    Then the web form's status is "IN_PROGRESS"
    And "jane" has no bank connection
    When the web form's page is submitted with the PIN "123456"
    Then the web form's status is "COMPLETED"
    And "jane" has the bank connection the web form names
    And "joe" has no bank connection

  @rule-own-data-only @mock-only
  Scenario Outline: a web form that ends <how> creates nothing
    Given a verified user "jane" created through the app client
    And "jane" has logged in through the app client
    When "jane" creates a web form to import a bank connection
    And <step>
    Then the web form's status is "<status>"
    And "jane" has no bank connection

    Examples:
      | how        | step                           | status               |
      | aborted    | the web form is aborted        | ABORTED              |
      | in error   | the web form is completed with an error | COMPLETED_WITH_ERROR |
      | by expiry  | the web form's lifetime passes | EXPIRED              |
