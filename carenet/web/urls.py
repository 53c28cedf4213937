from django.urls import path

from carenet.web import (
    urls_applications,
    urls_benefits,
    urls_mobile,
    urls_problems,
    urls_screening,
    urls_visits,
)
from carenet.web.views import accounts, audit, auth, children, divisions, home

app_name = "web"
urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("children/", children.child_list, name="child_list"),
    path("children/export.xlsx", children.child_export, name="child_export"),
    path("children/new/", children.child_create, name="child_create"),
    path("children/<int:pk>/", children.child_detail, name="child_detail"),
    path("children/<int:pk>/edit/", children.child_edit, name="child_edit"),
    path("children/<int:pk>/archive/", children.child_archive, name="child_archive"),
    path("children/<int:pk>/restore/", children.child_restore, name="child_restore"),
    path("children/<int:pk>/photo/", children.child_photo, name="child_photo"),
    path("children/<int:pk>/members/new/", children.member_add, name="member_add"),
    path("members/<int:pk>/edit/", children.member_edit, name="member_edit"),
    path("children/<int:pk>/categories/new/", children.category_open, name="category_open"),
    path("categories/<int:pk>/end/", children.category_close, name="category_close"),
    path("children/<int:pk>/documents/new/", children.document_upload, name="document_upload"),
    path("children/<int:pk>/caseworkers/", children.caseload_assign, name="caseload_assign"),
    path("caseload/<int:pk>/end/", children.caseload_end, name="caseload_end"),
    path("documents/<int:pk>/", children.document_download, name="document_download"),
    path("divisions/", divisions.division_home, name="division_home"),
    path("divisions/import/", divisions.division_import, name="division_import"),
    path("divisions/<str:code>/", divisions.division_detail, name="division_detail"),
    path("accounts/", accounts.user_list, name="user_list"),
    path("accounts/new/", accounts.user_create, name="user_create"),
    path("accounts/<int:pk>/", accounts.user_detail, name="user_detail"),
    path("accounts/<int:pk>/active/", accounts.user_toggle_active, name="user_toggle_active"),
    path("audit/changes/", audit.changes, name="audit_changes"),
    path("audit/access/", audit.access, name="audit_access"),
]
urlpatterns += urls_visits.urlpatterns + urls_problems.urlpatterns + urls_mobile.urlpatterns
urlpatterns += urls_applications.urlpatterns + urls_benefits.urlpatterns + urls_screening.urlpatterns
