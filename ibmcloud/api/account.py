"""/v1/accounts/{account_id}/settings/identity: the account's identity settings."""

from .. import services
from .base import IF_MATCH, IBMView, account, ensure_account, ibm_operation, permissions
from .serializers import AccountSettingsSerializer, UpdateAccountSettingsSerializer

TAG = "Account Settings"


class AccountSettingsView(IBMView):
    """The identity settings of the installation's one account."""

    required_permissions = permissions(get="iam/account:read", put="iam/account:write")

    @ibm_operation("getAccountSettings", TAG, response=AccountSettingsSerializer)
    def get(self, request, account_id):
        ensure_account(account_id)
        return self.respond(AccountSettingsSerializer, account())

    @ibm_operation("updateAccountSettings", TAG, request=UpdateAccountSettingsSerializer, headers=[IF_MATCH],
                   response=AccountSettingsSerializer)
    def put(self, request, account_id):
        ensure_account(account_id)
        version = self.if_match()
        changes = self.body(UpdateAccountSettingsSerializer)
        return self.respond(AccountSettingsSerializer, services.update_account_settings(request.user, version, changes))
