# Kiosk messages: Kyrgyz (the state language; the default).

app-title = Жигердүү жарандар
back-home = Башкы бетке
not-found = Мындай бет жок
choice-none = — тандалган жок —

## Start page
home-welcome = Кош келиңиз! Эмне кылгыңыз келет?
home-report = Көйгөй билдирүү
home-report-hint = Айылдагы жергиликтүү маселе жөнүндө айыл өкмөтүнө кабар бериңиз
home-issues = Көйгөйлөр жана алардын абалы
home-issues-hint = Айылдын көйгөйлөрүн көрүп, колдоо көрсөтүңүз
home-groups = Демилгелүү топтор
home-groups-hint = Топко кошулуңуз же жаңы топ сунуштаңыз
home-events = Иш-чарага катталуу
home-events-hint = Окутуучу иш-чарага же жыйынга келгениңизди белгилеңиз
home-legal = Юридикалык жардам
home-legal-hint = Акысыз юридикалык кеңешке арыз калтырыңыз
home-staff = Кызматкерлер үчүн

## Sync
sync-last = Акыркы шайкештештирүү: { $time }
sync-never = Сервер менен азырынча шайкештештирилген жок
sync-offline = Байланыш жок — маалыматтар ушул жерде сакталат
sync-no-server = Оффлайн режим — маалыматтар ушул жерде сакталат
busy = Киоск азыр маалыматтарды сервер менен шайкештештирип жатат. Бир аздан кийин кайра аракет кылыңыз.
busy-again = Кайра аракет кылуу
sync-waiting = Жөнөтүлө элек жазуулар: { $count }

## Form fields
field-title = Көйгөйдүн аталышы
field-description = Көйгөйдү сүрөттөп бериңиз
field-category = Багыты
field-place = Жери (көчө, үй, белгилүү жай)
field-family = Фамилияңыз
field-given = Атыңыз
field-phone = Телефон номериңиз (милдеттүү эмес)
field-facts = Эмне болду? Кыскача жазыңыз
field-area = Маселенин түрү
field-urgency = Канчалык шашылыш?
field-consent = Макулдук
field-group-name = Топтун аталышы же максаты
field-topic = Иш-чаранын темасы
field-sector = Сиз кимсиз?
field-sex = Жынысыңыз (милдеттүү эмес)
field-birth-year = Туулган жылыңыз (милдеттүү эмес)
field-update = Коомчулукка билдирүү
field-pin = ПИН-код
field-event-kind = Иш-чаранын түрү
field-starts-on = Башталышы
field-ends-on = Аягы
field-sessions = Сабактардын саны
field-receipt = Каттоо номериңиз (мисалы, AK7-00001)
field-other = Талаа

## Errors
error-heading = Сураныч, төмөнкүлөрдү оңдоңуз:
error-required = «{ $field }» талаасын толтуруңуз.
error-too-long = «{ $field }» өтө узун: эң көп { $max } белги.
error-invalid = «{ $field }» туура эмес толтурулду.
error-choice = «{ $field }»: тизмеден бирөөнү тандаңыз.
error-consent = Улантуу үчүн макулдугуңузду белгилеңиз.
error-transition = Бул абалга которууга болбойт.
error-write = Сакталган жок. Кызматкерге кайрылыңыз.

## Categories
category-roads = Жолдор жана көпүрөлөр
category-water = Суу (ичүүчү жана сугат суусу)
category-waste = Таштанды жана тазалык
category-education = Мектеп жана бала бакча
category-lighting = Көчө жарыгы жана электр
category-jobs = Жумуш жана жергиликтүү экономика
category-safety = Коопсуздук
category-health = Саламаттык
category-land = Жайыт жана жер
category-social = Социалдык колдоо
category-culture = Спорт, маданият жана жаштар
category-accessibility = Мүмкүнчүлүгү чектелген адамдар үчүн жеткиликтүүлүк
category-other = Башка

## Statuses
status-issue-draft = Долбоор
status-issue-submitted = Кабыл алынды, текшерилүүдө
status-issue-published = Жарыяланды
status-issue-acknowledged = Айыл өкмөтү карап жатат
status-issue-in-progress = Иш жүрүүдө
status-issue-resolved = Чечилди
status-issue-closed-unresolved = Чечилбей жабылды
status-issue-withdrawn = Кайтарылып алынды
status-group-forming = Түзүлүүдө
status-group-active = Иштеп жатат
status-group-plan-agreed = Иш-план макулдашылды
status-group-implementing = План аткарылууда
status-group-completed = Аякталды
status-group-dormant = Убактылуу токтоду
status-group-dissolved = Таратылды
status-event-planned = Пландалды
status-event-held = Өттү
status-event-attendance-entered = Катышуучулар киргизилди
status-event-reconciled = Тизме текшерилди
status-event-verified = Тастыкталды
status-event-reported = Отчетко кирди
status-event-cancelled = Жокко чыгарылды

## Report an issue
report-title = Көйгөй билдирүү
report-anonymous = Атыңыз сакталбайт: билдирүү жашыруун кабыл алынат.
submit-report = Жөнөтүү
receipt-title = Кабыл алынды
receipt-text = Билдирүүңүз кабыл алынды. Каттоо номериңиз:
receipt-keep = Бул номерди сактап коюңуз: аны менен көйгөйүңүздүн абалын «Көйгөйлөр» бөлүмүнөн таба аласыз.
receipt-print = Басып чыгаруу

## Issues
issues-title = Айылдын көйгөйлөрү
issues-empty = Азырынча көйгөй билдирилген жок.
issues-supports = Колдогондор: { $count }
issues-find = Издөө
issues-no-receipt = Мындай номер менен көйгөй табылган жок.
issues-updates = Жаңылыктар
support-button = Колдоо көрсөтүү
support-title = Көйгөйдү колдоо
support-done = Колдооңуз кабыл алынды
support-done-text = Рахмат! Сиздин колдооңуз эсепке алынды.

## Consent
consent-participation = Аты-жөнүмдү демилгелерге катышуумду эсепке алуу үчүн айыл өкмөтү жана «Жигердүү жарандар» программасы иштетишине макулмун.
consent-training = Аты-жөнүмдү жана маалыматтарымды окутууга катышуумду эсепке алуу үчүн иштетүүгө макулмун.
consent-legal = Маалыматтарымды акысыз юридикалык жардам алуу үчүн юридикалык жардам борбору иштетишине макулмун. Алар жашыруун сакталат.

## Groups
groups-title = Демилгелүү топтор
groups-intro = Демилгелүү топ — айылдын көйгөйүн айыл өкмөтү менен бирге чечкен жарандардын тобу.
groups-empty = Азырынча топ жок. Биринчи болуп сунуштаңыз!
groups-members = Мүчөлөрү: { $count }
groups-join = Топко кошулуу
groups-propose = Жаңы топ сунуштоо
groups-propose-hint = Топ «түзүлүүдө» деп катталат; айыл өкмөтүнүн кызматкери сиз менен байланышат.
groups-propose-button = Сунуштоо
groups-proposed = Сунушуңуз кабыл алынды
groups-proposed-text = Рахмат! Жаңы топ катталды, сиз анын төрагасы катары жазылдыңыз.
join-title = Топко кошулуу
join-done = Сиз топко кошулдуңуз
join-done-text = Рахмат! Топтун мүчөлөрү сиз менен жакында байланышат.
sector-citizen = Жаран
sector-business = Жеке сектор (бизнес)
sector-ngo = Бейөкмөт уюм
sector-state-body = Мамлекеттик орган
sector-ayil-okmotu = Айыл өкмөтүнүн кызматкери

## Events
events-title = Иш-чаралар
events-intro = Иш-чарага келген болсоңуз, бул жерден катталыңыз.
events-empty = Азыр каттала турган иш-чара жок.
checkin-button = Катталуу
checkin-title = Иш-чарага катталуу
checkin-done = Сиз катталдыңыз
checkin-done-text = Рахмат! Катышууңуз эсепке алынды.
sex-female = Аял
sex-male = Эркек
event-kind-training = Окутуучу иш-чара
event-kind-conference = Улуттук конференция
event-kind-hearing = Коомдук угуу
event-kind-gathering = Жыйын
event-kind-kenesh = Айылдык кеңештин сессиясы
event-kind-information = Маалыматтык жолугушуу
event-kind-campaign = Маалыматтык кампания

## Legal aid
legal-title = Акысыз юридикалык жардам
legal-intro = Юрист менен кеңешүү үчүн арыз калтырыңыз. Кеңеш акысыз.
legal-privacy = Арызыңыз шифрленип сакталат жана аны юридикалык жардам борборунун адистери гана окуй алат. Жөнөткөндөн кийин экран тазаланат.
legal-submit = Арызды жөнөтүү
legal-done = Арызыңыз кабыл алынды
legal-done-text = Юрист сиз менен байланышат. Экран азыр тазаланат.
area-family = Үй-бүлө
area-property = Мүлк
area-labour = Эмгек
area-land = Жер
area-housing = Турак жай
area-social-benefits = Социалдык жөлөкпул
area-inheritance = Мурас
area-documents = Документтер
area-criminal = Кылмыш иши
area-administrative = Административдик иш
area-other = Башка
urgency-normal = Кадимки
urgency-soon = Жакын арада
urgency-urgent = Абдан шашылыш

## Staff
staff-title = Кызматкерлер үчүн
staff-login = Кирүү
staff-logout = Чыгуу
staff-wrong-pin = ПИН-код туура эмес.
staff-closed = Бул киоскто кызматкерлердин бөлүмү өчүрүлгөн.
staff-login-needed = Алгач ПИН-код менен кириңиз.
staff-hide = Жашыруу
staff-show = Көрсөтүү
staff-hidden = Жашырылган
staff-saved = Сакталды.
staff-save = Сактоо
staff-move-to = Жаңы абалы
staff-new-event = Жаңы иш-чара
staff-checked-in = Катталгандар: { $count }
staff-sync = Шайкештештирүү
staff-sync-server = Сервер
staff-sync-waiting = Жөнөтүлө элек жазуулар
staff-sync-last = Акыркы ийгиликтүү шайкештештирүү
staff-sync-failures = Катары менен ийгиликсиз аракеттер
staff-sync-public = Коомдук киоск режими
staff-sync-public-on = Күйгүзүлгөн (жок кылынган ачкычтар: { $count })
staff-sync-public-off = Өчүрүлгөн
staff-sync-key = Киосктун ачык ачкычтары
staff-sync-error = Акыркы ката
staff-review = Текшерүүнү күткөндөр
staff-review-empty = Текшере турган эч нерсе жок.
staff-conflicts = Бир убакта жасалган өзгөртүүлөр
staff-conflict = { $count } вариант:
staff-flags = Белгиленген жазуулар
flag-equivocation = Бир жазуунун эки түрдүү нускасы келди (көчүрүлгөн киоск же калыбына келтирилген камдык көчүрмө)
flag-payload-erased = Өчүрүлгөн адамдын маалыматы алынып салынды
flag-unknown-schema = Бул версия тааныбаган жазуу сакталды
flag-action-mismatch = Талаага туура келбеген аракет
flag-duplicate-create = Бир жазуу эки жолу түзүлдү
flag-workflow = Абалды өзгөртүүгө уруксат берилген жок
flag-other = Башка белги

## Forms that do not decode, and why a sync failed
error-form-too-large = Форма өтө чоң. Текстти кыскартып, кайра жөнөтүңүз.
error-form-invalid = Форманы окуй алган жокпуз. Кайра толтуруп көрүңүз.
sync-error-no-server = Сервер көрсөтүлгөн эмес
sync-error-connect = Серверге туташуу мүмкүн болгон жок
sync-error-refused = Сервер шайкештештирүүдөн баш тартты
sync-error-link = Байланыш үзүлүп калды
sync-error-purge = Жеке маалыматтардын ачкычтарын өчүрүү ишке ашкан жок
