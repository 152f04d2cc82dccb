package auth

// Action is one thing a request does, for authorization. The API's routes
// and the portal's pages name the same actions.
type Action string

// The actions.
const (
	ActionListCustomers     Action = "customers.list"
	ActionCreateCustomer    Action = "customers.create"
	ActionReadCustomer      Action = "customers.read"
	ActionDeleteCustomer    Action = "customers.delete"
	ActionListEndpoints     Action = "endpoints.list"
	ActionCreateEndpoint    Action = "endpoints.create"
	ActionReadEndpoint      Action = "endpoints.read"
	ActionDeleteEndpoint    Action = "endpoints.delete"
	ActionSetCredentials    Action = "endpoints.credentials"
	ActionReadEndpointTypes Action = "endpoint-types.read"
	ActionListProjects      Action = "projects.list"
	ActionCreateProject     Action = "projects.create"
	ActionReadProject       Action = "projects.read"
	ActionUpdateSettings    Action = "projects.settings"
	ActionCloseProject      Action = "projects.close"
	ActionListItems         Action = "items.list"
	ActionCreateItem        Action = "items.create"
	ActionImportItems       Action = "items.import"
	ActionReadItem          Action = "items.read"
	ActionEditItem          Action = "items.edit"
	ActionDeleteItems       Action = "items.delete"
	ActionStartPass         Action = "passes.start"
	ActionStop              Action = "passes.stop"
	ActionAcceptWaves       Action = "waves.accept"
	ActionReadOpenAPI       Action = "openapi.read"

	ActionListEngagements     Action = "engagements.list"
	ActionCreateEngagement    Action = "engagements.create"
	ActionReadEngagement      Action = "engagements.read"
	ActionChangeScope         Action = "engagements.scope"
	ActionListTasks           Action = "tasks.list"
	ActionUpdateTask          Action = "tasks.update"
	ActionLogTime             Action = "tasks.time"
	ActionReadTaskHistory     Action = "tasks.history"
	ActionAssign              Action = "people.assign"
	ActionListPersonTasks     Action = "people.tasks"
	ActionReadGates           Action = "gates.read"
	ActionExitPhase           Action = "gates.exit"
	ActionOverrideGate        Action = "migration-gate.override"
	ActionReadMigrationGate   Action = "migration-gate.read"
	ActionListChecklist       Action = "checklist.list"
	ActionAddChecklistItem    Action = "checklist.create"
	ActionUpdateChecklistItem Action = "checklist.update"
	ActionListIssues          Action = "issues.list"
	ActionReportIssue         Action = "issues.create"
	ActionUpdateIssue         Action = "issues.update"
	ActionListEvents          Action = "events.list"
	ActionScheduleEvent       Action = "events.create"
	ActionReadProgress        Action = "engagements.progress"
	ActionReadReport          Action = "engagements.report"
	ActionReadPlaybook        Action = "playbook.read"
	ActionListDomains         Action = "domains.list"
	ActionManageDomains       Action = "domains.manage"
	ActionCheckDNS            Action = "dns.check"
	ActionCutover             Action = "dns.cutover"
	ActionSetSuccessPlan      Action = "success-plan.update"
	ActionDecideGoNoGo        Action = "go-no-go.decide"
	ActionTickResponsibility  Action = "responsibilities.tick"

	ActionReadDashboard Action = "dashboard.read"
	ActionReadAudit     Action = "audit.read"
	ActionManageUsers   Action = "users.manage"
	ActionOwnTokens     Action = "tokens.own"
	ActionListMyTasks   Action = "tasks.mine"
)

type scope int

const (
	// oneCustomer: the action acts on one customer's resources, or (with
	// customer 0) on all of them, which only roles seeing every customer may.
	oneCustomer scope = iota
	// anyCustomer: the action concerns no customer, or filters what it
	// shows by what the principal sees; anyone with the capability may.
	anyCustomer
)

type actionDef struct {
	cap   Capability
	scope scope
	what  string // "create customers": completes "a Viewer may not ..."
}

var actions = map[Action]actionDef{
	ActionListCustomers:     {Read, anyCustomer, "list customers"},
	ActionCreateCustomer:    {ManageCustomers, oneCustomer, "create customers"},
	ActionReadCustomer:      {Read, oneCustomer, "see customers"},
	ActionDeleteCustomer:    {ManageCustomers, oneCustomer, "delete customers"},
	ActionListEndpoints:     {Read, oneCustomer, "list endpoints"},
	ActionCreateEndpoint:    {Configure, oneCustomer, "create endpoints"},
	ActionReadEndpoint:      {Read, oneCustomer, "see endpoints"},
	ActionDeleteEndpoint:    {Configure, oneCustomer, "delete endpoints"},
	ActionSetCredentials:    {Configure, oneCustomer, "provide endpoint credentials"},
	ActionReadEndpointTypes: {Read, anyCustomer, "see endpoint types"},
	ActionListProjects:      {Read, oneCustomer, "list projects"},
	ActionCreateProject:     {Configure, oneCustomer, "create projects"},
	ActionReadProject:       {Read, oneCustomer, "see projects"},
	ActionUpdateSettings:    {Configure, oneCustomer, "change project settings"},
	ActionCloseProject:      {Configure, oneCustomer, "close projects"},
	ActionListItems:         {Read, oneCustomer, "list items"},
	ActionCreateItem:        {Configure, oneCustomer, "add items"},
	ActionImportItems:       {Configure, oneCustomer, "import items"},
	ActionReadItem:          {Read, oneCustomer, "see items"},
	ActionEditItem:          {Configure, oneCustomer, "edit items"},
	ActionDeleteItems:       {Configure, oneCustomer, "delete items"},
	ActionStartPass:         {Migrate, oneCustomer, "start passes"},
	ActionAcceptWaves:       {Migrate, oneCustomer, "accept migration waves"},
	ActionStop:              {Migrate, oneCustomer, "stop passes"},
	ActionReadOpenAPI:       {Read, anyCustomer, "read the API description"},

	ActionListEngagements:     {Read, oneCustomer, "list engagements"},
	ActionCreateEngagement:    {Lead, oneCustomer, "create engagements"},
	ActionReadEngagement:      {Read, oneCustomer, "see engagements"},
	ActionChangeScope:         {Lead, oneCustomer, "change an engagement's scope"},
	ActionListTasks:           {Read, oneCustomer, "list tasks"},
	ActionUpdateTask:          {Engage, oneCustomer, "update tasks"},
	ActionLogTime:             {Engage, oneCustomer, "log time"},
	ActionReadTaskHistory:     {Read, oneCustomer, "see task history"},
	ActionAssign:              {Lead, oneCustomer, "assign people"},
	ActionListPersonTasks:     {Read, oneCustomer, "list everyone's tasks"},
	ActionReadGates:           {Read, oneCustomer, "see exit gates"},
	ActionExitPhase:           {Lead, oneCustomer, "pass exit gates"},
	ActionOverrideGate:        {Lead, oneCustomer, "override the migration gate"},
	ActionReadMigrationGate:   {Read, oneCustomer, "see the migration gate"},
	ActionListChecklist:       {Read, oneCustomer, "see the remediation checklist"},
	ActionAddChecklistItem:    {Engage, oneCustomer, "add checklist items"},
	ActionUpdateChecklistItem: {Engage, oneCustomer, "update checklist items"},
	ActionListIssues:          {Read, oneCustomer, "see post-migration issues"},
	ActionReportIssue:         {Engage, oneCustomer, "report post-migration issues"},
	ActionUpdateIssue:         {Engage, oneCustomer, "update, assign and close post-migration issues"},
	ActionListEvents:          {Read, oneCustomer, "see scheduled events"},
	ActionScheduleEvent:       {Engage, oneCustomer, "schedule events"},
	ActionReadProgress:        {Read, oneCustomer, "see progress"},
	ActionReadReport:          {Read, oneCustomer, "read reports"},
	ActionReadPlaybook:        {Read, anyCustomer, "read the playbook"},
	ActionListDomains:         {Read, oneCustomer, "see an engagement's domains and their cutover"},
	ActionManageDomains:       {Engage, oneCustomer, "add or remove an engagement's domains"},
	ActionCheckDNS:            {Read, oneCustomer, "check a domain's DNS records"},
	ActionCutover:             {Migrate, oneCustomer, "start the MX cutover's final pass"},
	ActionSetSuccessPlan:      {Engage, oneCustomer, "write the success plan"},
	ActionDecideGoNoGo:        {Lead, oneCustomer, "record go/no-go decisions"},
	ActionTickResponsibility:  {Engage, oneCustomer, "tick off the customer's responsibilities"},

	ActionReadDashboard: {Read, anyCustomer, "see the dashboard"},
	ActionReadAudit:     {Read, oneCustomer, "read the audit log"},
	ActionManageUsers:   {ManageUsers, oneCustomer, "manage accounts"},
	ActionOwnTokens:     {Read, anyCustomer, "keep API tokens"},
	ActionListMyTasks:   {Read, anyCustomer, "list their own tasks"},
}

// Actions lists every action (for tests and documentation).
func Actions() []Action {
	out := make([]Action, 0, len(actions))
	for a := range actions {
		out = append(out, a)
	}
	return out
}

// CapabilityOf returns the capability an action needs.
func CapabilityOf(a Action) Capability { return actions[a].cap }
