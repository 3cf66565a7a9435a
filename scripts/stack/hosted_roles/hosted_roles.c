/*
 * hosted_roles: the part of Supabase's supautils that decides what a hosted project's
 * non-superuser `postgres` role may do beyond its own privileges, written for the local stack.
 *
 * Loaded through shared_preload_libraries. For the privileged role (hosted_roles.privileged_role,
 * `postgres`) and only for these statements, it runs the statement as the superuser
 * (hosted_roles.superuser, `supabase_admin`), as supautils does on a hosted project:
 *
 *   - CREATE / ALTER / DROP EXTENSION of an extension in hosted_roles.privileged_extensions,
 *     then that extension's after-create script from hosted_roles.extension_custom_scripts_path
 *     (<path>/<extension>/after-create.sql, run as the superuser), the grants hosted adds;
 *   - CREATE / ALTER / DROP / COMMENT ON / ALTER ... RENAME of a POLICY on a table in
 *     hosted_roles.policy_grants;
 *   - DROP TRIGGER on a table in hosted_roles.drop_trigger_grants;
 *   - SET / RESET of a setting in hosted_roles.privileged_role_allowed_configs (an entry
 *     `prefix.*` covers all of an extension's settings).
 *
 * And, for every role that is not a superuser, it refuses what supautils refuses: granting
 * membership in a role of hosted_roles.reserved_memberships; creating, altering, renaming,
 * dropping or granting to a role of hosted_roles.reserved_roles (a role listed with a trailing
 * `*` may still get settings and memberships from the privileged role); and, for the privileged
 * role, altering itself (ALTER ROLE postgres SUPERUSER and the like).
 *
 * Every other statement runs with the caller's own rights, so Postgres refuses what needs a
 * superuser with its usual error, as it does on a hosted project. The settings can only be set
 * in postgresql.conf (SIGHUP), never by a session.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/fd.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"

PG_MODULE_MAGIC;

void _PG_init(void);

static ProcessUtility_hook_type previous_utility_hook = NULL;

static char *privileged_role = NULL;
static char *superuser_role = NULL;
static char *privileged_extensions = NULL;
static char *policy_grants = NULL;
static char *drop_trigger_grants = NULL;
static char *custom_scripts_path = NULL;
static char *reserved_roles = NULL;
static char *reserved_memberships = NULL;
static char *allowed_configs = NULL;

/* Whether `name` is one of the comma-separated entries of `setting` (compared as identifiers). */
static bool
listed(const char *setting, const char *name)
{
	char	   *copy;
	List	   *entries = NIL;
	ListCell   *cell;
	bool		found = false;

	if (setting == NULL || setting[0] == '\0' || name == NULL)
		return false;
	copy = pstrdup(setting);
	if (!SplitIdentifierString(copy, ',', &entries))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hosted_roles: cannot parse \"%s\"", setting)));
	foreach(cell, entries)
	{
		if (strcmp((char *) lfirst(cell), name) == 0)
		{
			found = true;
			break;
		}
	}
	list_free(entries);
	pfree(copy);
	return found;
}

/*
 * Whether `role` is in hosted_roles.reserved_roles. An entry with a trailing `*` leaves the role
 * open to the privileged role's settings and memberships (`privileged_may_configure`).
 */
static bool
reserved_role(const char *role, bool privileged_may_configure)
{
	char	   *copy;
	List	   *entries = NIL;
	ListCell   *cell;
	bool		found = false;

	if (reserved_roles == NULL || reserved_roles[0] == '\0' || role == NULL)
		return false;
	copy = pstrdup(reserved_roles);
	if (!SplitIdentifierString(copy, ',', &entries))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hosted_roles: cannot parse \"%s\"", reserved_roles)));
	foreach(cell, entries)
	{
		char	   *entry = (char *) lfirst(cell);
		size_t		length = strlen(entry);
		bool		configurable = length > 0 && entry[length - 1] == '*';

		if (configurable)
			entry[length - 1] = '\0';
		if (strcmp(entry, role) == 0)
		{
			found = !(configurable && privileged_may_configure);
			break;
		}
	}
	list_free(entries);
	pfree(copy);
	return found;
}

static void
refuse_reserved_role(const char *role, bool privileged_may_configure)
{
	if (reserved_role(role, privileged_may_configure))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("\"%s\" is a reserved role, only superusers can modify it", role)));
}

static const char *
role_name(RoleSpec *spec)
{
	return spec->roletype == ROLESPEC_CSTRING ? spec->rolename : get_rolespec_name(spec);
}

/* What supautils refuses to every role that is not a superuser (role statements). */
static void
refuse_reserved(Node *statement, bool privileged)
{
	ListCell   *cell;

	switch (nodeTag(statement))
	{
		case T_CreateRoleStmt:
			refuse_reserved_role(((CreateRoleStmt *) statement)->role, false);
			break;
		case T_AlterRoleStmt:
			{
				const char *role = role_name(((AlterRoleStmt *) statement)->role);

				refuse_reserved_role(role, false);
				if (privileged && privileged_role && strcmp(role, privileged_role) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							 errmsg("permission denied to alter role"),
							 errdetail("Only superusers can alter privileged roles.")));
				break;
			}
		case T_AlterRoleSetStmt:
			{
				RoleSpec   *spec = ((AlterRoleSetStmt *) statement)->role;

				if (spec != NULL)
					refuse_reserved_role(role_name(spec), privileged);
				break;
			}
		case T_DropRoleStmt:
			foreach(cell, ((DropRoleStmt *) statement)->roles)
			{
				RoleSpec   *spec = lfirst_node(RoleSpec, cell);

				if (spec->roletype == ROLESPEC_CSTRING)
					refuse_reserved_role(spec->rolename, false);
			}
			break;
		case T_RenameStmt:
			{
				RenameStmt *rename = (RenameStmt *) statement;

				if (rename->renameType != OBJECT_ROLE)
					break;
				refuse_reserved_role(rename->subname, false);
				refuse_reserved_role(rename->newname, false);
				break;
			}
		case T_GrantRoleStmt:
			{
				GrantRoleStmt *grant = (GrantRoleStmt *) statement;

				if (grant->is_grant)
				{
					foreach(cell, grant->granted_roles)
					{
						AccessPriv *granted = lfirst_node(AccessPriv, cell);

						if (listed(reserved_memberships, granted->priv_name))
							ereport(ERROR,
									(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
									 errmsg("\"%s\" role memberships are reserved, only superusers can grant them",
											granted->priv_name)));
					}
				}
				foreach(cell, grant->grantee_roles)
					refuse_reserved_role(role_name(lfirst_node(RoleSpec, cell)), privileged);
				break;
			}
		default:
			break;
	}
}

/* "schema.table" of an existing relation, or NULL when it does not exist. */
static char *
qualified_relation(RangeVar *relation)
{
	Oid			relid = RangeVarGetRelid(relation, NoLock, true);

	if (!OidIsValid(relid))
		return NULL;
	return psprintf("%s.%s", get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
}

/* The table of a policy or trigger named by a name list ending with the object's own name. */
static char *
qualified_table_of(List *object_name)
{
	List	   *table_name;

	if (list_length(object_name) < 2)
		return NULL;
	table_name = list_truncate(list_copy(object_name), list_length(object_name) - 1);
	return qualified_relation(makeRangeVarFromNameList(table_name));
}

/* Whether every object a DROP names is on a granted table (policies, triggers). */
static bool
all_on_granted_tables(List *objects, const char *grants)
{
	ListCell   *cell;

	if (objects == NIL)
		return false;
	foreach(cell, objects)
	{
		char	   *table = qualified_table_of(castNode(List, lfirst(cell)));

		if (table == NULL || !listed(grants, table))
			return false;
	}
	return true;
}

/* Whether hosted_roles.privileged_role_allowed_configs covers the setting `name`. */
static bool
allowed_config(const char *name)
{
	char	   *copy;
	List	   *entries = NIL;
	ListCell   *cell;
	bool		found = false;

	if (allowed_configs == NULL || allowed_configs[0] == '\0' || name == NULL)
		return false;
	copy = pstrdup(allowed_configs);
	if (!SplitIdentifierString(copy, ',', &entries))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hosted_roles: cannot parse \"%s\"", allowed_configs)));
	foreach(cell, entries)
	{
		char	   *entry = (char *) lfirst(cell);
		size_t		length = strlen(entry);

		if (length >= 2 && strcmp(entry + length - 2, ".*") == 0
			? strncmp(entry, name, length - 1) == 0
			: pg_strcasecmp(entry, name) == 0)
		{
			found = true;
			break;
		}
	}
	list_free(entries);
	pfree(copy);
	return found;
}

static bool
all_privileged_extensions(List *objects)
{
	ListCell   *cell;

	if (objects == NIL)
		return false;
	foreach(cell, objects)
	{
		if (!listed(privileged_extensions, strVal(lfirst(cell))))
			return false;
	}
	return true;
}

/*
 * Which statements of the privileged role run as the superuser. *after_create is set to the
 * extension whose after-create script follows a CREATE EXTENSION.
 */
static bool
needs_superuser(Node *statement, const char **after_create)
{
	*after_create = NULL;
	switch (nodeTag(statement))
	{
		case T_CreateExtensionStmt:
			{
				CreateExtensionStmt *create = (CreateExtensionStmt *) statement;

				if (!listed(privileged_extensions, create->extname))
					return false;
				/* IF NOT EXISTS of an installed extension changes nothing. */
				if (!(create->if_not_exists && OidIsValid(get_extension_oid(create->extname, true))))
					*after_create = create->extname;
				return true;
			}
		case T_AlterExtensionStmt:
			return listed(privileged_extensions, ((AlterExtensionStmt *) statement)->extname);
		case T_CreatePolicyStmt:
			{
				char	   *table = qualified_relation(((CreatePolicyStmt *) statement)->table);

				return table != NULL && listed(policy_grants, table);
			}
		case T_AlterPolicyStmt:
			{
				char	   *table = qualified_relation(((AlterPolicyStmt *) statement)->table);

				return table != NULL && listed(policy_grants, table);
			}
		case T_RenameStmt:
			{
				RenameStmt *rename = (RenameStmt *) statement;
				char	   *table;

				if (rename->renameType != OBJECT_POLICY || rename->relation == NULL)
					return false;
				table = qualified_relation(rename->relation);
				return table != NULL && listed(policy_grants, table);
			}
		case T_CommentStmt:
			{
				CommentStmt *comment = (CommentStmt *) statement;
				char	   *table;

				if (comment->objtype != OBJECT_POLICY)
					return false;
				table = qualified_table_of(castNode(List, comment->object));
				return table != NULL && listed(policy_grants, table);
			}
		case T_VariableSetStmt:
			return allowed_config(((VariableSetStmt *) statement)->name);
		case T_DropStmt:
			{
				DropStmt   *drop = (DropStmt *) statement;

				switch (drop->removeType)
				{
					case OBJECT_EXTENSION:
						return all_privileged_extensions(drop->objects);
					case OBJECT_POLICY:
						return all_on_granted_tables(drop->objects, policy_grants);
					case OBJECT_TRIGGER:
						return all_on_granted_tables(drop->objects, drop_trigger_grants);
					default:
						return false;
				}
			}
		default:
			return false;
	}
}

/* Runs <custom scripts path>/<extension>/after-create.sql, if there is one, through SPI. */
static void
run_after_create_script(const char *extension)
{
	char	   *path;
	FILE	   *file;
	StringInfoData script;
	char		buffer[4096];
	size_t		n;

	if (custom_scripts_path == NULL || custom_scripts_path[0] == '\0')
		return;
	path = psprintf("%s/%s/after-create.sql", custom_scripts_path, extension);
	file = AllocateFile(path, "r");
	if (file == NULL)
		return;
	initStringInfo(&script);
	while ((n = fread(buffer, 1, sizeof(buffer), file)) > 0)
		appendBinaryStringInfo(&script, buffer, n);
	FreeFile(file);

	CommandCounterIncrement();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hosted_roles: SPI_connect failed");
	if (SPI_execute(script.data, false, 0) < 0)
		elog(ERROR, "hosted_roles: %s failed", path);
	SPI_finish();
}

static void
run_statement(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
			  ProcessUtilityContext context, ParamListInfo params,
			  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (previous_utility_hook)
		previous_utility_hook(pstmt, queryString, readOnlyTree, context, params, queryEnv,
							  dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
								dest, qc);
}

static void
hosted_roles_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	const char *after_create = NULL;
	Oid			privileged;
	Oid			elevated;
	Oid			saved_user;
	int			saved_context;

	if (!IsTransactionState() || superuser() || privileged_role == NULL ||
		superuser_role == NULL)
	{
		run_statement(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		return;
	}
	privileged = get_role_oid(privileged_role, true);
	elevated = get_role_oid(superuser_role, true);
	refuse_reserved(pstmt->utilityStmt, OidIsValid(privileged) && GetUserId() == privileged);
	if (!OidIsValid(privileged) || !OidIsValid(elevated) || GetUserId() != privileged ||
		!needs_superuser(pstmt->utilityStmt, &after_create))
	{
		run_statement(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		return;
	}

	GetUserIdAndSecContext(&saved_user, &saved_context);
	/* SECURITY_LOCAL_USERID_CHANGE: no SET ROLE / SET SESSION AUTHORIZATION meanwhile. */
	SetUserIdAndSecContext(elevated, saved_context | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		run_statement(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		if (after_create)
			run_after_create_script(after_create);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(saved_user, saved_context);
	}
	PG_END_TRY();
}

void
_PG_init(void)
{
	DefineCustomStringVariable("hosted_roles.privileged_role",
							   "The non-superuser role some superuser statements are allowed to.",
							   NULL, &privileged_role, "postgres", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("hosted_roles.superuser",
							   "The superuser those statements run as.",
							   NULL, &superuser_role, "supabase_admin", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("hosted_roles.privileged_extensions",
							   "Extensions the privileged role creates, updates and drops as the superuser.",
							   NULL, &privileged_extensions, "", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("hosted_roles.extension_custom_scripts_path",
							   "Folder of <extension>/after-create.sql scripts run as the superuser.",
							   NULL, &custom_scripts_path, "", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("hosted_roles.policy_grants",
							   "Tables (schema.table) whose policies the privileged role manages.",
							   NULL, &policy_grants, "", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("hosted_roles.drop_trigger_grants",
							   "Tables (schema.table) whose triggers the privileged role may drop.",
							   NULL, &drop_trigger_grants, "", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("hosted_roles.reserved_roles",
							   "Roles only superusers may create, alter, rename, drop or grant to.",
							   NULL, &reserved_roles, "", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("hosted_roles.reserved_memberships",
							   "Roles whose membership only superusers may grant.",
							   NULL, &reserved_memberships, "", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("hosted_roles.privileged_role_allowed_configs",
							   "Superuser-only settings the privileged role may SET.",
							   NULL, &allowed_configs, "", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	MarkGUCPrefixReserved("hosted_roles");

	previous_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = hosted_roles_utility;
}
