from django import forms


class ImportTracksForm(forms.Form):
    file = forms.FileField(help_text="CSV (with a header line) or JSON Lines, UTF-8.")
