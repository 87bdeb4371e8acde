# Kiosk messages: Russian.

app-title = Жигердүү жарандар — Активные сообщества
back-home = На главную
not-found = Такой страницы нет
choice-none = — не выбрано —

## Start page
home-welcome = Добро пожаловать! Что вы хотите сделать?
home-report = Сообщить о проблеме
home-report-hint = Сообщите айыл окмоту о местной проблеме села
home-issues = Проблемы и их статус
home-issues-hint = Посмотрите проблемы села и поддержите их
home-groups = Инициативные группы
home-groups-hint = Вступите в группу или предложите новую
home-events = Регистрация на мероприятие
home-events-hint = Отметьте, что вы пришли на обучающее мероприятие или сход
home-legal = Юридическая помощь
home-legal-hint = Оставьте заявление на бесплатную юридическую консультацию
home-staff = Для сотрудников

## Sync
sync-last = Последняя синхронизация: { $time }
sync-never = Синхронизации с сервером ещё не было
sync-offline = Нет связи — данные сохраняются здесь
sync-no-server = Автономный режим — данные сохраняются здесь
busy = Киоск сейчас синхронизирует данные с сервером. Попробуйте ещё раз через минуту.
busy-again = Попробовать снова
sync-waiting = Записей ждут отправки: { $count }

## Form fields
field-title = Название проблемы
field-description = Опишите проблему
field-category = Направление
field-place = Место (улица, дом, ориентир)
field-family = Фамилия
field-given = Имя
field-phone = Номер телефона (необязательно)
field-facts = Что случилось? Опишите кратко
field-area = Вид вопроса
field-urgency = Насколько срочно?
field-consent = Согласие
field-group-name = Название или цель группы
field-topic = Тема мероприятия
field-sector = Кого вы представляете?
field-sex = Пол (необязательно)
field-birth-year = Год рождения (необязательно)
field-update = Сообщение для жителей
field-pin = ПИН-код
field-event-kind = Вид мероприятия
field-starts-on = Начало
field-ends-on = Окончание
field-sessions = Число занятий
field-receipt = Ваш регистрационный номер (например, AK7-00001)
field-other = Поле

## Errors
error-heading = Пожалуйста, исправьте:
error-required = Заполните поле «{ $field }».
error-too-long = Поле «{ $field }» слишком длинное: не более { $max } знаков.
error-invalid = Поле «{ $field }» заполнено неверно.
error-choice = «{ $field }»: выберите вариант из списка.
error-consent = Чтобы продолжить, отметьте согласие.
error-transition = В этот статус перевести нельзя.
error-write = Не сохранено. Обратитесь к сотруднику.

## Categories
category-roads = Дороги и мосты
category-water = Вода (питьевая и поливная)
category-waste = Мусор и санитария
category-education = Школы и детские сады
category-lighting = Уличное освещение и электричество
category-jobs = Работа и местная экономика
category-safety = Безопасность
category-health = Здравоохранение
category-land = Пастбища и земля
category-social = Социальная поддержка
category-culture = Спорт, культура и молодёжь
category-accessibility = Доступность для лиц с ограниченными возможностями здоровья
category-other = Другое

## Statuses
status-issue-draft = Черновик
status-issue-submitted = Принято, на проверке
status-issue-published = Опубликовано
status-issue-acknowledged = Рассматривается айыл окмоту
status-issue-in-progress = В работе
status-issue-resolved = Решено
status-issue-closed-unresolved = Закрыто без решения
status-issue-withdrawn = Отозвано
status-group-forming = Формируется
status-group-active = Работает
status-group-plan-agreed = План согласован
status-group-implementing = План выполняется
status-group-completed = Завершено
status-group-dormant = Приостановлена
status-group-dissolved = Распущена
status-event-planned = Запланировано
status-event-held = Проведено
status-event-attendance-entered = Участники внесены
status-event-reconciled = Список сверен
status-event-verified = Проверено
status-event-reported = Включено в отчёт
status-event-cancelled = Отменено

## Report an issue
report-title = Сообщить о проблеме
report-anonymous = Ваше имя не сохраняется: сообщение принимается анонимно.
submit-report = Отправить
receipt-title = Принято
receipt-text = Ваше сообщение принято. Ваш регистрационный номер:
receipt-keep = Сохраните этот номер: по нему вы найдёте статус вашей проблемы в разделе «Проблемы».
receipt-print = Распечатать

## Issues
issues-title = Проблемы села
issues-empty = Пока никто не сообщил о проблемах.
issues-supports = Поддержали: { $count }
issues-find = Найти
issues-no-receipt = Проблема с таким номером не найдена.
issues-updates = Новости
support-button = Поддержать
support-title = Поддержать проблему
support-done = Ваша поддержка принята
support-done-text = Спасибо! Ваша поддержка учтена.

## Consent
consent-participation = Я согласен(на), чтобы айыл окмоту и программа «Жигердүү жарандар» обрабатывали мои фамилию и имя для учёта моего участия в инициативах.
consent-training = Я согласен(на) на обработку моих фамилии, имени и данных для учёта участия в обучении.
consent-legal = Я согласен(на), чтобы центр юридической помощи обрабатывал мои данные для оказания бесплатной юридической помощи. Они хранятся конфиденциально.

## Groups
groups-title = Инициативные группы
groups-intro = Инициативная группа — это жители, которые решают проблему села вместе с айыл окмоту.
groups-empty = Групп пока нет. Предложите первую!
groups-members = Участников: { $count }
groups-join = Вступить в группу
groups-propose = Предложить новую группу
groups-propose-hint = Группа будет записана как «формируется»; сотрудник айыл окмоту свяжется с вами.
groups-propose-button = Предложить
groups-proposed = Ваше предложение принято
groups-proposed-text = Спасибо! Новая группа зарегистрирована, вы записаны её председателем.
join-title = Вступить в группу
join-done = Вы вступили в группу
join-done-text = Спасибо! Участники группы скоро свяжутся с вами.
sector-citizen = Житель
sector-business = Частный сектор (бизнес)
sector-ngo = Некоммерческая организация (НКО)
sector-state-body = Государственный орган
sector-ayil-okmotu = Сотрудник айыл окмоту

## Events
events-title = Мероприятия
events-intro = Если вы пришли на мероприятие, зарегистрируйтесь здесь.
events-empty = Сейчас нет мероприятий для регистрации.
checkin-button = Зарегистрироваться
checkin-title = Регистрация на мероприятие
checkin-done = Вы зарегистрированы
checkin-done-text = Спасибо! Ваше участие учтено.
sex-female = Женский
sex-male = Мужской
event-kind-training = Обучающее мероприятие
event-kind-conference = Национальная конференция
event-kind-hearing = Публичные слушания
event-kind-gathering = Сход
event-kind-kenesh = Сессия айылного кенеша
event-kind-information = Информационная встреча
event-kind-campaign = Информационная кампания

## Legal aid
legal-title = Бесплатная юридическая помощь
legal-intro = Оставьте заявление, чтобы получить консультацию юриста. Консультация бесплатна.
legal-privacy = Заявление хранится в зашифрованном виде, прочитать его могут только специалисты центра юридической помощи. После отправки экран очистится.
legal-submit = Отправить заявление
legal-done = Ваше заявление принято
legal-done-text = Юрист свяжется с вами. Экран сейчас очистится.
area-family = Семья
area-property = Имущество
area-labour = Трудовые отношения
area-land = Земля
area-housing = Жильё
area-social-benefits = Социальные пособия
area-inheritance = Наследство
area-documents = Документы
area-criminal = Уголовное дело
area-administrative = Административное дело
area-other = Другое
urgency-normal = Обычно
urgency-soon = В ближайшее время
urgency-urgent = Очень срочно

## Staff
staff-title = Для сотрудников
staff-login = Войти
staff-logout = Выйти
staff-wrong-pin = Неверный ПИН-код.
staff-closed = На этом киоске раздел сотрудников отключён.
staff-login-needed = Сначала войдите с ПИН-кодом.
staff-hide = Скрыть
staff-show = Показать
staff-hidden = Скрыто
staff-saved = Сохранено.
staff-save = Сохранить
staff-move-to = Новый статус
staff-new-event = Новое мероприятие
staff-checked-in = Зарегистрировались: { $count }
staff-sync = Синхронизация
staff-sync-server = Сервер
staff-sync-waiting = Записей ждут отправки
staff-sync-last = Последняя успешная синхронизация
staff-sync-failures = Неудачных попыток подряд
staff-sync-public = Режим общественного киоска
staff-sync-public-on = Включён (уничтожено ключей: { $count })
staff-sync-public-off = Выключен
staff-sync-key = Открытые ключи киоска
staff-sync-error = Последняя ошибка
staff-review = Ждут проверки
staff-review-empty = Проверять нечего.
staff-conflicts = Одновременные изменения
staff-conflict = Вариантов: { $count }
staff-flags = Отмеченные записи
flag-equivocation = Пришли две разные версии одной записи (скопированный киоск или восстановленная резервная копия)
flag-payload-erased = Данные удалённого человека изъяты
flag-unknown-schema = Сохранена запись, неизвестная этой версии
flag-action-mismatch = Действие не подходит к полю
flag-duplicate-create = Запись создана дважды
flag-workflow = Смена статуса не разрешена
flag-other = Другая отметка

## Forms that do not decode, and why a sync failed
error-form-too-large = Форма слишком большая. Сократите текст и отправьте снова.
error-form-invalid = Не удалось прочитать форму. Попробуйте заполнить её снова.
sync-error-no-server = Сервер не указан
sync-error-connect = Не удалось подключиться к серверу
sync-error-refused = Сервер отказал в синхронизации
sync-error-link = Связь прервалась
sync-error-purge = Не удалось уничтожить ключи персональных данных
