from django import forms

from photos.models import Run


class UploadForm(forms.Form):
    # A plain FileField: the photo service does the image checks, with messages written for users.
    image = forms.FileField(label="Photo")
    mode = forms.ChoiceField(choices=Run.Mode.choices, initial=Run.Mode.MATCH)
    context = forms.CharField(
        max_length=500,
        required=False,
        label="Anything to add?",
        widget=forms.TextInput(attrs={"placeholder": "e.g. our wedding, a rainy Sunday, road trip"}),
    )


class MoodForm(forms.Form):
    """A mood set on the results page's map: valence and arousal on the map's (word) scale, 0-1."""

    valence = forms.FloatField(min_value=0.0, max_value=1.0)
    arousal = forms.FloatField(min_value=0.0, max_value=1.0)
