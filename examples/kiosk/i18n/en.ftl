# Kiosk messages: English.

app-title = Jigerduu Jarandar — Active Communities
back-home = Back to start
not-found = There is no such page
choice-none = — not chosen —

## Start page
home-welcome = Welcome! What would you like to do?
home-report = Report a problem
home-report-hint = Tell the ayil okmotu about a local problem in the village
home-issues = Problems and their status
home-issues-hint = See the village's problems and support them
home-groups = Initiative groups
home-groups-hint = Join a group or propose a new one
home-events = Event check-in
home-events-hint = Record that you came to a training or a gathering
home-legal = Legal aid
home-legal-hint = Ask for a free legal consultation
home-staff = For staff

## Sync
sync-last = Last sync: { $time }
sync-never = Not synced with the server yet
sync-offline = No connection — data is kept here
sync-no-server = Offline mode — data is kept here
busy = The kiosk is syncing with the server just now. Please try again in a moment.
busy-again = Try again
sync-waiting = Records waiting to be sent: { $count }

## Form fields
field-title = Title of the problem
field-description = Describe the problem
field-category = Area
field-place = Place (street, house, landmark)
field-family = Family name
field-given = Given name
field-phone = Phone number (optional)
field-facts = What happened? In a few words
field-area = Kind of matter
field-urgency = How urgent is it?
field-consent = Consent
field-group-name = Name or aim of the group
field-topic = Topic of the event
field-sector = Who are you?
field-sex = Sex (optional)
field-birth-year = Year of birth (optional)
field-update = Message to residents
field-pin = PIN
field-event-kind = Kind of event
field-starts-on = Starts on
field-ends-on = Ends on
field-sessions = Number of sessions
field-receipt = Your receipt number (for example AK7-00001)
field-other = Field

## Errors
error-heading = Please correct the following:
error-required = Please fill in “{ $field }”.
error-too-long = “{ $field }” is too long: at most { $max } characters.
error-invalid = “{ $field }” is not filled in correctly.
error-choice = “{ $field }”: please choose one from the list.
error-consent = Please tick the consent to continue.
error-transition = It cannot move to that status.
error-write = Not saved. Please ask a member of staff.

## Categories
category-roads = Roads and bridges
category-water = Water (drinking and irrigation)
category-waste = Waste and sanitation
category-education = Schools and kindergartens
category-lighting = Street lighting and electricity
category-jobs = Jobs and the local economy
category-safety = Safety
category-health = Health
category-land = Pastures and land
category-social = Social support
category-culture = Sport, culture and youth
category-accessibility = Accessibility for persons with disabilities
category-other = Other

## Statuses
status-issue-draft = Draft
status-issue-submitted = Received, being checked
status-issue-published = Published
status-issue-acknowledged = Acknowledged by the ayil okmotu
status-issue-in-progress = In progress
status-issue-resolved = Resolved
status-issue-closed-unresolved = Closed without a solution
status-issue-withdrawn = Withdrawn
status-group-forming = Forming
status-group-active = Active
status-group-plan-agreed = Plan agreed
status-group-implementing = Carrying out the plan
status-group-completed = Completed
status-group-dormant = Paused
status-group-dissolved = Dissolved
status-event-planned = Planned
status-event-held = Held
status-event-attendance-entered = Attendance entered
status-event-reconciled = List reconciled
status-event-verified = Verified
status-event-reported = Reported
status-event-cancelled = Cancelled

## Report an issue
report-title = Report a problem
report-anonymous = Your name is not kept: the report is anonymous.
submit-report = Send
receipt-title = Received
receipt-text = Your report was received. Your receipt number:
receipt-keep = Keep this number: with it you will find your problem's status under “Problems”.
receipt-print = Print

## Issues
issues-title = The village's problems
issues-empty = No problems have been reported yet.
issues-supports = Supporters: { $count }
issues-find = Find
issues-no-receipt = No problem with that number was found.
issues-updates = Updates
support-button = Support
support-title = Support a problem
support-done = Your support was received
support-done-text = Thank you! Your support is counted.

## Consent
consent-participation = I agree that the ayil okmotu and the Jigerduu Jarandar programme process my name to record my part in initiatives.
consent-training = I agree to the processing of my name and details to record my attendance at trainings.
consent-legal = I agree that the legal aid centre processes my details to give me free legal aid. They are kept confidential.

## Groups
groups-title = Initiative groups
groups-intro = An initiative group is residents who solve a village problem together with the ayil okmotu.
groups-empty = There are no groups yet. Propose the first one!
groups-members = Members: { $count }
groups-join = Join the group
groups-propose = Propose a new group
groups-propose-hint = The group is recorded as “forming”; a member of the ayil okmotu staff will contact you.
groups-propose-button = Propose
groups-proposed = Your proposal was received
groups-proposed-text = Thank you! The new group is recorded, with you as its chair.
join-title = Join a group
join-done = You joined the group
join-done-text = Thank you! The group's members will contact you soon.
sector-citizen = Resident
sector-business = Private sector (business)
sector-ngo = NGO
sector-state-body = State body
sector-ayil-okmotu = Ayil okmotu staff

## Events
events-title = Events
events-intro = If you came to an event, check in here.
events-empty = There is no event to check in to now.
checkin-button = Check in
checkin-title = Event check-in
checkin-done = You are checked in
checkin-done-text = Thank you! Your attendance is recorded.
sex-female = Female
sex-male = Male
event-kind-training = Training event
event-kind-conference = National conference
event-kind-hearing = Public hearing
event-kind-gathering = Gathering
event-kind-kenesh = Ayil kenesh session
event-kind-information = Information session
event-kind-campaign = Information campaign

## Legal aid
legal-title = Free legal aid
legal-intro = Leave a request for a consultation with a lawyer. The consultation is free.
legal-privacy = Your request is stored encrypted and only the legal aid centre's specialists can read it. The screen clears after you send it.
legal-submit = Send the request
legal-done = Your request was received
legal-done-text = A lawyer will contact you. The screen will now clear.
area-family = Family
area-property = Property
area-labour = Work
area-land = Land
area-housing = Housing
area-social-benefits = Social benefits
area-inheritance = Inheritance
area-documents = Documents
area-criminal = Criminal case
area-administrative = Administrative case
area-other = Other
urgency-normal = Normal
urgency-soon = Soon
urgency-urgent = Very urgent

## Staff
staff-title = For staff
staff-login = Log in
staff-logout = Log out
staff-wrong-pin = Wrong PIN.
staff-closed = The staff pages are switched off on this kiosk.
staff-login-needed = Please log in with the PIN first.
staff-hide = Hide
staff-show = Show
staff-hidden = Hidden
staff-saved = Saved.
staff-save = Save
staff-move-to = New status
staff-new-event = New event
staff-checked-in = Checked in: { $count }
staff-sync = Sync
staff-sync-server = Server
staff-sync-waiting = Records waiting to be sent
staff-sync-last = Last successful sync
staff-sync-failures = Failed attempts in a row
staff-sync-public = Public kiosk mode
staff-sync-public-on = On (keys destroyed: { $count })
staff-sync-public-off = Off
staff-sync-key = The kiosk's public keys
staff-sync-error = Last error
staff-review = Waiting for review
staff-review-empty = Nothing to review.
staff-conflicts = Concurrent changes
staff-conflict = { $count } versions:
staff-flags = Flagged records
flag-equivocation = Two different versions of one record arrived (a cloned kiosk or a restored backup)
flag-payload-erased = An erased person's data was removed
flag-unknown-schema = A record this version does not know was kept
flag-action-mismatch = An action that does not fit the field
flag-duplicate-create = A record was created twice
flag-workflow = A status change was not allowed
flag-other = Another flag

## Forms that do not decode, and why a sync failed
error-form-too-large = The form is too large. Please shorten the text and send it again.
error-form-invalid = The form could not be read. Please fill it in again.
sync-error-no-server = No server is configured
sync-error-connect = Could not connect to the server
sync-error-refused = The server refused the sync
sync-error-link = The connection broke
sync-error-purge = Could not destroy the personal data keys
