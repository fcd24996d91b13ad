from django import forms


class MembershipSignupForm(forms.Form):
    """Placeholder: the membership fields are added with the member portal."""

    def signup(self, request, user):
        return None
