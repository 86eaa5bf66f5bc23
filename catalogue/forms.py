from django import forms


class ImportTracksForm(forms.Form):
    file = forms.FileField(help_text="CSV (with a header line) or JSON Lines, UTF-8.")


class AddAudioTrackForm(forms.Form):
    file = forms.FileField(help_text="MP3, WAV, FLAC or OGG, at least 3 seconds.")
    title = forms.CharField(max_length=500, required=False, help_text="Defaults to the file name.")
    artist = forms.CharField(max_length=500, required=False)
    genre = forms.CharField(max_length=100, required=False)
    tags = forms.CharField(max_length=500, required=False, help_text="Comma-separated, e.g. 'chill, night'.")

    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]
