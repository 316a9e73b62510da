from django.urls import path

from touchpoint.web import identity_views, settings_views, views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("workspace/", views.switch_workspace, name="switch-workspace"),
    path("", views.inbox_page, name="inbox"),
    path("inbox/rows/", views.inbox_rows, name="inbox-rows"),
    path("inbox/nav/", views.inbox_nav, name="inbox-nav"),
    path("conversations/<int:conversation_id>/", views.conversation_page, name="conversation"),
    path("conversations/<int:conversation_id>/row/", views.conversation_row, name="conversation-row"),
    path("conversations/<int:conversation_id>/header/", views.conversation_header, name="conversation-header"),
    path("conversations/<int:conversation_id>/thread/", views.conversation_thread, name="conversation-thread"),
    path("conversations/<int:conversation_id>/messages/", views.post_message, name="conversation-messages"),
    path("conversations/<int:conversation_id>/assign/", views.assign, name="conversation-assign"),
    path("conversations/<int:conversation_id>/transfer/", views.transfer, name="conversation-transfer"),
    path("conversations/<int:conversation_id>/priority/", views.set_priority, name="conversation-priority"),
    path("conversations/<int:conversation_id>/status/", views.set_status, name="conversation-status"),
    path("conversations/<int:conversation_id>/tags/", views.set_tags, name="conversation-tags"),
    path("attachments/<int:attachment_id>/", views.download_attachment, name="attachment"),
    path("customers/<int:customer_id>/", views.customer_page, name="customer"),
    path("customers/<int:customer_id>/timeline/", views.customer_timeline_page, name="customer-timeline"),
    path("customers/<int:customer_id>/identities/", identity_views.add_identity, name="customer-add-identity"),
    path("customers/<int:customer_id>/merge/", identity_views.merge_into, name="customer-merge"),
    path("search/", views.search, name="search"),
    path("settings/users/", settings_views.users, name="settings-users"),
    path("settings/users/<int:membership_id>/role/", settings_views.set_role, name="settings-role"),
    path("settings/teams/", settings_views.teams, name="settings-teams"),
    path("settings/teams/<int:team_id>/members/", settings_views.team_members, name="settings-team-members"),
    path("settings/tokens/", settings_views.tokens, name="settings-tokens"),
    path("settings/tokens/<int:token_id>/revoke/", settings_views.revoke_token, name="settings-revoke-token"),
]
